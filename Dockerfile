# stagegate's own image, built the way stagegate wants every image built:
# a build stage, a test stage that gates it, and a final stage with only the
# static binary and CA certificates.

# go.mod's go version: the toolchain the module asks for, no newer.
ARG GO_VERSION=1.26.8

# build compiles a static binary.
FROM golang:${GO_VERSION}-bookworm AS build
# A static binary with trimmed paths. The test stage inherits the same settings:
# it tests what ships, and reuses the packages the build compiled (with other
# flags it compiles them all again, twice the CPU). grpcnotrace leaves out
# gRPC's x/net/trace debug pages, which stagegate never serves: 0.3 MB of the
# image.
ENV CGO_ENABLED=0 GOFLAGS="-trimpath -tags=grpcnotrace"
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY cmd ./cmd
COPY internal ./internal
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags "-s -w -X main.version=${VERSION}" -o /out/stagegate ./cmd/stagegate

# test runs go vet and the unit tests (integration tests need daemons and skip)
# over the whole repository: tests read action.yml, the README, the workflows
# and hack/ too.
FROM build AS test
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go vet ./... && go test ./...

# The action's image: the binary and CA certificates, nothing else.
FROM scratch AS final
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/stagegate /stagegate
ENTRYPOINT ["/stagegate"]
