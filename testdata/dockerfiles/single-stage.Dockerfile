FROM busybox
ENV GREETING=hello
RUN echo "$GREETING" > /greeting
CMD ["cat", "/greeting"]
