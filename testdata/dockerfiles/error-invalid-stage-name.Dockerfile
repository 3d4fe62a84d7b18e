FROM busybox AS base
RUN echo ok

FROM base AS 2nd-stage
RUN echo nope
