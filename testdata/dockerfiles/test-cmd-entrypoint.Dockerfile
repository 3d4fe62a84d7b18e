FROM busybox AS build
RUN echo 'echo hello' > /hello.sh

FROM build AS test
ENTRYPOINT ["sh"]
CMD ["/hello.sh"]

FROM build
CMD ["sh", "/hello.sh"]
