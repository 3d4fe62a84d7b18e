FROM busybox
COPY <<EOF /etc/app.conf
listen=:8080
mode=production
EOF
COPY <<-"EOT" /usr/local/bin/start
	#!/bin/sh
	exec httpd -f -p 8080
	EOT
RUN chmod +x /usr/local/bin/start
CMD ["/usr/local/bin/start"]
