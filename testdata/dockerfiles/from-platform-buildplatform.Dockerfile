FROM --platform=$BUILDPLATFORM busybox AS build
ARG TARGETARCH
RUN echo "building for $TARGETARCH" > /arch

FROM busybox
COPY --from=build /arch /arch
