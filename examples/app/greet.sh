#!/bin/sh
# greet NAME: says hello, with the app's version.
echo "hello, ${1:-world} (greet @VERSION@)"
