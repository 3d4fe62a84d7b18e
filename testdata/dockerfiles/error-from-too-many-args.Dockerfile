FROM busybox AS build extra
RUN echo ok
