#!/bin/sh
# test.sh BINARY: expects a greeting the app does not give, so the test fails.
set -e
echo "running 3 checks against $1"
echo "ok 1: greet runs"
echo "ok 2: greet prints one line"
got=$("$1" stagegate)
want="Hello, stagegate!"
if [ "$got" != "$want" ]; then
	echo "not ok 3: got '$got', want '$want'"
	exit 3
fi
