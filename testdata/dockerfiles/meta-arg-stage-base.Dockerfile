ARG VARIANT=release

FROM busybox AS debug
RUN echo debug > /mode

FROM busybox AS release
RUN echo release > /mode

FROM ${VARIANT} AS final
CMD ["cat", "/mode"]
