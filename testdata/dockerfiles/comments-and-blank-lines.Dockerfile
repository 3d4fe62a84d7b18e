# Top comment

FROM busybox AS build

# comment between instructions
RUN echo a \

    && echo b > /ab
# trailing comment in the stage

FROM build
# final comment
