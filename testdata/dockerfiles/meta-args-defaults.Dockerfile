ARG BASE=busybox
ARG TAG
ARG RUNTIME_IMAGE=${BASE}:${TAG:-1.36}

FROM ${BASE} AS build
RUN echo build > /out

FROM ${RUNTIME_IMAGE} AS runtime
COPY --from=build /out /out
