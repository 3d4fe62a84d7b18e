ARG SRC=build
FROM busybox AS build
RUN echo hi > /x

FROM busybox
COPY --from=${SRC} /x /x
