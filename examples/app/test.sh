#!/bin/sh
# test.sh BINARY: checks greet's output.
set -e
got=$("$1" stagegate)
want="hello, stagegate (greet 1.0.0)"
[ "$got" = "$want" ] || { echo "FAIL: got '$got', want '$want'"; exit 1; }
echo "ok: greet says '$got'"
