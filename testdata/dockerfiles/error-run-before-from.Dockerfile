ARG BASE=busybox
RUN echo too early
FROM ${BASE}
