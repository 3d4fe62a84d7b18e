FROM busybox
RUN echo ok
COPPY app /app
