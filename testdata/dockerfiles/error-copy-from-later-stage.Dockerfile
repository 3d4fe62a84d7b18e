FROM busybox AS final
COPY --from=later /x /x

FROM busybox AS later
RUN echo hi > /x
