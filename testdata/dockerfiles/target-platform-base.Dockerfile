FROM busybox AS base-amd64
RUN echo x86 > /cpu

FROM busybox AS base-arm64
RUN echo arm > /cpu

FROM base-${TARGETARCH}
CMD ["cat", "/cpu"]
