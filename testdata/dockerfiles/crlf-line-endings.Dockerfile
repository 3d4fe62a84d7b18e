FROM busybox AS build
RUN echo one \
    && echo two > /out

FROM build AS test
RUN test -f /out

FROM busybox
COPY --from=build /out /out
