# escape=`
ARG IMAGE=busybox

FROM ${IMAGE} AS build
RUN mkdir -p /out && `
    echo "C:\path\with\backslashes" > /out/path.txt

FROM ${IMAGE}
COPY --from=build /out/path.txt /path.txt
