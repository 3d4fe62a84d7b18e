FROM busybox AS build
RUN echo app > /app

FROM build AS test
RUN test "$(cat /app)" = app

FROM busybox AS final
COPY --from=build /app /app
CMD ["cat", "/app"]
