package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stagegate/stagegate/internal/result"
)

func renderTable(t *testing.T, r *result.Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := Table(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestTable(t *testing.T) {
	passed := sample()
	passed.Result, passed.Failure, passed.Warnings = result.Passed, nil, nil
	passed.Stages[2].Status = result.StatusPassed

	builderGone := &result.Result{Result: result.Failed, Target: "app", Error: "builder went away:\nconnection reset"}

	noExitCode := sample()
	noExitCode.Failure = &result.Failure{Stage: "lint", Line: 7, EndLine: 7, Message: "COPY failed: file not found"}

	for _, tc := range []struct {
		name     string
		r        *result.Result
		want     []string
		dontWant []string
	}{
		{
			name: "failed run names the stage, lines and exit code",
			r:    sample(),
			want: []string{
				"STAGE  ROLE        STATUS   TIME   CACHED  SIZE      Δ BASE\n",
				"build  dependency  passed   41.3s  1/3     1.2 GB    +350.0 MB\n",
				"test   test        failed   12.3s  1/2     -         -\n",
				"app    target      skipped  -      -       4.2 MB    -\n",
				"Result: FAILED in 1m23s (target \"app\", tests \"test\")\n",
				"FAILED: stage \"test\" at Dockerfile:12-13 (exit code 1)\n",
				"  step: [test 2/2] RUN go test ./...\n",
				"  process \"/bin/sh -c go test ./...\" did not complete successfully: exit code: 1\n",
				"  last 3 log lines:\n    --- FAIL: TestParse (0.00s)\n        parse_test.go:12: got 1, want 2\n    FAIL\n",
				"warning: could not size stage \"test\": it failed\n",
			},
		},
		{
			name:     "passed run has no failure block",
			r:        passed,
			want:     []string{"Result: PASSED in 1m23s"},
			dontWant: []string{"FAILED", "error:"},
		},
		{
			name:     "error without a failure is printed",
			r:        builderGone,
			want:     []string{"No stage was built.\n", "Result: FAILED in 0.0s (target \"app\")\n", "error: builder went away:\n  connection reset\n"},
			dontWant: []string{"FAILED:"},
		},
		{
			name:     "single line, no exit code, file from the result",
			r:        noExitCode,
			want:     []string{"FAILED: stage \"lint\" at Dockerfile:7\n  COPY failed: file not found\n"},
			dontWant: []string{"exit code", "log lines"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := renderTable(t, tc.r)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tc.dontWant {
				if strings.Contains(got, w) {
					t.Errorf("output has %q:\n%s", w, got)
				}
			}
		})
	}
}

// Text from the build cannot add rows or columns, nor drive the terminal.
func TestTableUntrustedText(t *testing.T) {
	r := sample()
	r.Stages[0].Name = "evil\tname\nSTAGE\x1b[2J"
	r.Failure.LogTail = []string{"\x1b]0;title\x07ok"}
	got := renderTable(t, r)
	lines := strings.Split(got, "\n")
	if !strings.HasPrefix(lines[1], "evil name STAGE  ") {
		t.Errorf("row 1 = %q", lines[1])
	}
	if strings.ContainsRune(got, '\x1b') {
		t.Errorf("escape sequence reaches the terminal:\n%q", got)
	}
	if !strings.Contains(got, "    ok\n") {
		t.Errorf("log line lost:\n%s", got)
	}
}

func TestStagesTable(t *testing.T) {
	stages := sample().Stages
	stages = append(stages, result.Stage{Name: "stage-4", Index: 4, Line: 20, EndLine: 20, Base: "scratch"})
	var b bytes.Buffer
	if err := StagesTable(&b, stages); err != nil {
		t.Fatal(err)
	}
	want := `INDEX  NAME     BASE                      LINES  DEPENDS ON  ROLES
0      base     golang:1.26               1-3    -           dependency
1      build    base                      5-8    base        dependency
2      test     build                     10-13  build       test
3      app      gcr.io/distroless/static  15-18  build       target
4      stage-4  scratch                   20     -           -
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestNilResult(t *testing.T) {
	var b bytes.Buffer
	for name, render := range map[string]func() error{
		"Table":    func() error { return Table(&b, nil) },
		"JSON":     func() error { return JSON(&b, nil) },
		"Markdown": func() error { return Markdown(&b, nil) },
	} {
		if render() == nil {
			t.Errorf("%s(nil) did not fail", name)
		}
	}
}
