FROM busybox AS build
RUN <<EOF
set -e
mkdir -p /out
echo built > /out/app
EOF
RUN <<-SCRIPT sh
	echo second
	SCRIPT

FROM busybox
COPY --from=build /out/app /app
