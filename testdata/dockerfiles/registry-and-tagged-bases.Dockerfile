FROM 127.0.0.1:5000/library/busybox AS local
RUN echo local > /from

FROM busybox:1.36 AS pinned
RUN echo pinned > /from

FROM busybox
COPY --from=local /from /local
COPY --from=pinned /from /pinned
