FROM busybox
WORKDIR /src
RUN echo 'echo hello' > hello.sh && chmod +x hello.sh

FROM scratch
COPY --from=0 /src/hello.sh /hello.sh
CMD ["/hello.sh"]
