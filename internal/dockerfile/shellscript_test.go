package dockerfile

import (
	"strings"
	"testing"
)

func TestLostTestStatus(t *testing.T) {
	for _, tc := range []struct {
		script string
		opts   shellOptions
		want   string // a substring of why; "" : the status is the step's
	}{
		{script: "go test ./..."},
		{script: "go vet ./... && go test ./..."},
		{script: "go test ./... && echo ok"},
		{script: "go build . ; go test ./..."},
		{script: "set -e; go test ./...; echo done"},
		{script: "set -eux\ngo test ./...\necho done"},
		{script: "set -o errexit\ngo test ./...\necho done"},
		{script: "go test ./... || exit 1"},
		{script: "go test ./... || exit"},
		{script: "go test ./... || exit $?"},
		{script: "go test ./... || { echo 'tests failed'; exit 2; }"},
		{script: "go test ./... || exit 0", want: `"|| exit 0" after it`},
		{script: "pytest || (cat log && false)"},
		{script: "go test ./... 2>&1 | tee /out/test.log", opts: shellOptions{pipefail: true}},
		{script: "set -euo pipefail; go test -v ./... | go-junit-report > /out/report.xml"},
		{script: "go build -o /app . && echo built"}, // no test: nothing to say
		{script: "go test ./... | tee /out/test.log", want: `piped into "tee /out/test.log"`},
		{script: "pytest --junitxml=/out/report.xml || true", want: `"|| true" after it`},
		{script: "npm test || echo 'tests failed'", want: `"|| echo 'tests failed'" after it`},
		{script: "go test ./...; echo done", want: `"echo done" runs after it`},
		{script: "go vet ./...\ngo test ./...\nrm -rf /root/.cache", want: `"rm -rf /root/.cache" runs after it`},
		{script: "set -e; go test ./... && echo ok; echo done", want: `on the left of "&&"`},
		{script: "set -e; set +e; go test ./...; echo done", want: `"echo done" runs after it`},
		{script: "cd /src && (go test ./... | tee log)", want: `piped into "tee log"`},
		{script: "! go test ./...", want: `inverts`},
		{script: "pytest &\nwait", want: "background"},
		{script: "if then fi ((", want: ""}, // does not parse: nothing to say
	} {
		got := lostTestStatus(tc.script, tc.opts)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("lostTestStatus(%q) = %q, want %q", tc.script, got, tc.want)
		}
	}
}

func TestOptionsOfShell(t *testing.T) {
	for _, tc := range []struct {
		shell []string
		want  shellOptions
	}{
		{nil, shellOptions{}},
		{[]string{"/bin/sh", "-c"}, shellOptions{}},
		{[]string{"/bin/bash", "-o", "pipefail", "-c"}, shellOptions{pipefail: true}},
		{[]string{"/bin/bash", "-eo", "pipefail", "-c"}, shellOptions{errexit: true, pipefail: true}},
		{[]string{"/bin/bash", "-euxo", "pipefail", "-c"}, shellOptions{errexit: true, pipefail: true}},
		{[]string{"/bin/bash", "-e", "-o", "pipefail", "-c"}, shellOptions{errexit: true, pipefail: true}},
		{[]string{"/bin/sh", "-ec"}, shellOptions{errexit: true}},
		{[]string{"pwsh", "-Command"}, shellOptions{}},
	} {
		if got := optionsOf(tc.shell); got != tc.want {
			t.Errorf("optionsOf(%q) = %+v, want %+v", tc.shell, got, tc.want)
		}
	}
}

// A test stage's RUN step whose failure the step would not show, as the
// graph records it: the SHELL instruction (kept from the stage built on)
// and heredoc scripts count.
func TestRunTestStatusLost(t *testing.T) {
	for _, tc := range []struct {
		name, dockerfile string
		want             string // substring; "" : none
	}{
		{"a pipe", "FROM golang AS test\nRUN go test -v ./... | go-junit-report > /r.xml\n", "piped into"},
		{"a pipe under SHELL with pipefail", "FROM golang AS test\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nRUN go test -v ./... | go-junit-report > /r.xml\n", ""},
		{"SHELL kept from the stage built on", "FROM golang AS base\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nFROM base AS test\nRUN go test -v ./... | tee /log\n", ""},
		{"exec form: no shell", "FROM golang AS test\nRUN [\"go\", \"test\", \"./...\"]\n", ""},
		{"a heredoc script without set -e", "FROM golang AS test\nRUN <<EOF\ngo test ./...\necho finished\nEOF\n", `"echo finished" runs after it`},
		{"a heredoc script with set -e", "FROM golang AS test\nRUN <<EOF\nset -e\ngo test ./...\necho finished\nEOF\n", ""},
		{"a heredoc as another program's input", "FROM python AS test\nRUN pytest -q && python3 <<EOF\nprint('x')\nexit(0)\nEOF\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Parse("Dockerfile", []byte(tc.dockerfile), fixedPlatforms(Options{}))
			if err != nil {
				t.Fatal(err)
			}
			st, _ := g.Stage("test")
			if st.RunTest == nil {
				t.Fatalf("no RUN test found")
			}
			got := st.RunTest.StatusLost
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("status lost %q, want %q", got, tc.want)
			}
		})
	}
}
