# A file with build arguments but no stage
ARG VERSION=1.0
ARG BASE=busybox
