FROM scratch AS config
COPY app.conf /etc/app.conf

FROM scratch
COPY --from=config /etc/app.conf /etc/app.conf
