ARG SRC=build
FROM busybox AS build
RUN echo hi > /x

FROM busybox
RUN --mount=from=$SRC,target=/src cat /src/x
