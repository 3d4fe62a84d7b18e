FROM busybox AS build
RUN echo hi > /x

FROM busybox
COPY --from=2 /x /x
