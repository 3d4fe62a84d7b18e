FROM busybox AS src
WORKDIR /src
COPY . .

FROM src AS test-unit
RUN echo "running unit tests" && ls /src

FROM src AS test-lint
RUN echo "running lint" && ls /src

FROM src AS build
RUN mkdir -p /out && cp -r /src /out/app

FROM busybox
COPY --from=build /out/app /app
CMD ["ls", "/app"]
