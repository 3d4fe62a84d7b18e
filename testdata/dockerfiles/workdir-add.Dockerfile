FROM busybox AS fetch
WORKDIR /downloads
ADD vendor.tar.gz ./
ADD --chmod=644 README.md ./

FROM busybox
WORKDIR /app
WORKDIR docs
COPY --from=fetch /downloads ./
