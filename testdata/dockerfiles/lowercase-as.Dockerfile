FROM busybox as build
RUN echo hello > /hello

FROM busybox as test
COPY --from=build /hello /hello
RUN grep -q hello /hello

FROM build
CMD ["cat", "/hello"]
