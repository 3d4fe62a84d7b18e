FROM busybox AS assets
RUN echo css > /style.css

FROM busybox AS bin
RUN echo bin > /app

FROM busybox
COPY --from=0 /style.css /www/
COPY --from=1 /app /usr/bin/app
COPY --from=bin /app /usr/bin/app2
