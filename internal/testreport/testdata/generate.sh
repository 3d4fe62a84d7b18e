#!/bin/sh
# Regenerates the report fixtures of this directory from real test runs of
# the sample projects beside it. Needs go, network access to the Go module
# proxy (for gotestsum) and python3 with pytest (Debian: python3-pytest).
# Run from anywhere: sh internal/testreport/testdata/generate.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=${TMPDIR:-/tmp}/testreport-fixtures
rm -rf "$work"
mkdir -p "$work"
cp -r "$here/gosample" "$here/gotimeout" "$here/pysample" "$work/"

# go test -json: passing, failing, skipped tests, a failing subtest, a
# panic and a package whose test file does not compile. It exits 1.
(cd "$work/gosample" && go test -json ./... > "$here/gotest.json") || true

# The same run converted to JUnit by gotestsum.
(cd "$work" && go run gotest.tools/gotestsum@v1.13.0 \
	--junitfile "$here/gotestsum-junit.xml" \
	--raw-command -- cat "$here/gotest.json" > /dev/null) || true

# A test that times out.
(cd "$work/gotimeout" && go test -json -timeout 1s ./... > "$here/gotest-timeout.json") || true

# pytest, xunit1 (file and line attributes, pytest's long tracebacks) and
# pytest's default xunit2 with native Python tracebacks.
py=${PYTHON:-}
if [ -z "$py" ]; then
	for c in python3 /usr/bin/python3; do
		if "$c" -m pytest --version > /dev/null 2>&1; then py=$c; break; fi
	done
fi
[ -n "$py" ] || { echo "no python3 with pytest found (set PYTHON)" >&2; exit 1; }
(cd "$work/pysample" && "$py" -m pytest -p no:cacheprovider -o junit_family=xunit1 \
	--junitxml="$here/pytest-junit.xml" tests > /dev/null) || true
(cd "$work/pysample" && "$py" -m pytest -p no:cacheprovider --tb=native \
	--junitxml="$here/pytest-junit-native.xml" tests > /dev/null) || true

# Broken inputs: the pytest report with a mismatched end tag, and the
# go test -json stream cut in the middle of a line.
sed 's#</testcase><testcase classname="tests.test_calc" name="test_mul"#</testsuite><testcase classname="tests.test_calc" name="test_mul"#' \
	"$here/pytest-junit.xml" > "$here/malformed.xml"
head -c 2000 "$here/gotest.json" > "$here/gotest-truncated.json"

rm -rf "$work"
