FROM busybox AS base
RUN adduser -D app

FROM base AS docs
RUN echo docs > /docs.html

FROM busybox AS unused-tools
RUN echo tools > /tools

FROM base AS final
USER app
CMD ["sh"]
