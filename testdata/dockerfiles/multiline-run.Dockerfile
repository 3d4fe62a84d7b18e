FROM busybox AS build
RUN set -e; \
    mkdir -p /out; \
    for f in a b c; do \
        echo "$f" > "/out/$f"; \
    done
# count what was made
RUN ls /out \
    | wc -l

FROM busybox
COPY --from=build \
     /out /out
