FROM busybox AS deps
RUN mkdir -p /deps && echo lib > /deps/lib.txt

FROM busybox AS build
RUN --mount=from=deps,source=/deps,target=/deps \
    cp /deps/lib.txt /lib.txt
RUN --mount=type=cache,target=/root/.cache \
    echo cached > /root/.cache/x && cp /root/.cache/x /cached

FROM busybox
COPY --from=build /lib.txt /cached /
