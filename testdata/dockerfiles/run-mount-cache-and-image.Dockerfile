FROM busybox AS tools
RUN echo tool > /tool

FROM busybox
RUN --mount=type=cache,id=seed,from=tools,target=/seed \
    --mount=type=bind,from=busybox:1.36,source=/bin/busybox,target=/bb \
    --mount=type=tmpfs,target=/tmp \
    --mount=type=secret,id=token \
    ls /seed /bb > /listing
