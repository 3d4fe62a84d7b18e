FROM busybox AS build
RUN echo ok

FROM --plattform=linux/amd64 busybox
COPY --from=build / /
