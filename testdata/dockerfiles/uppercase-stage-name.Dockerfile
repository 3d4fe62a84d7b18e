# Build compiles the app
FROM busybox AS Build
RUN echo app > /app

FROM busybox AS Test
COPY --from=Build /app /app
RUN test -s /app

FROM build
CMD ["cat", "/app"]
