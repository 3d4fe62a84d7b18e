FROM scratch
COPY --from=busybox:1.36 /bin/busybox /bin/busybox
ENTRYPOINT ["/bin/busybox"]
CMD ["sh"]
