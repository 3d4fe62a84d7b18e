FROM busybox AS build
COPY --from=busybox:1.36 /bin/busybox /opt/busybox-1.36
COPY --from=127.0.0.1:5000/library/busybox /bin/busybox /opt/busybox-local
RUN /opt/busybox-1.36 true

FROM scratch
COPY --from=build /opt /opt
ENTRYPOINT ["/opt/busybox-local"]
