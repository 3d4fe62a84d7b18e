package gate

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/progress"
)

// failureDockerfile has a test stage built on build, and a final stage.
const failureDockerfile = `FROM busybox AS base
RUN echo base > /base

FROM base AS build
RUN echo build > /build

FROM build AS test
RUN test -s /build

FROM busybox AS tools
RUN echo tools > /tools

FROM build AS final
COPY --from=tools /tools /tools
`

// failures lists every failed test stage in the request's order, then the
// build's own error when it is another one; a build stopped from outside is
// one failure that says so.
func TestFailuresOrder(t *testing.T) {
	g, err := dockerfile.Parse("Dockerfile", []byte(failureDockerfile), dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	testErr := errors.New("unit tests failed")
	lintErr := errors.New("lint failed")
	runErr := &build.RunError{Target: "test", Args: []string{"go", "test"}, ExitCode: 2}
	tests := []struct {
		name string
		out  *build.Outcome
		want []string // stage: message
	}{
		{name: "passed", out: &build.Outcome{Tests: []*build.TestOutcome{{Target: "test"}, nil}}},
		{
			name: "the final target failed after the tests passed",
			out:  &build.Outcome{Tests: []*build.TestOutcome{{Target: "test"}}, Err: errors.New("failed to solve: COPY failed"), SolveFailed: true, FailedTarget: "final"},
			want: []string{"final: COPY failed"},
		},
		{
			name: "two test stages failed: in order; the build's error is the first, not repeated",
			out:  &build.Outcome{Tests: []*build.TestOutcome{{Target: "test", Err: testErr}, {Target: "tools", Err: lintErr}}, Err: testErr, SolveFailed: true, FailedTarget: "test"},
			want: []string{"test: unit tests failed", "tools: lint failed"},
		},
		{
			name: "a test failed, and so did the export of the final target (no fail-fast)",
			out:  &build.Outcome{Tests: []*build.TestOutcome{{Target: "test", Err: testErr}}, Err: errors.New("export failed")},
			want: []string{"test: unit tests failed", ": export failed"},
		},
		{
			name: "the test command failed: its command is the step",
			out:  &build.Outcome{Tests: []*build.TestOutcome{{Target: "test", Err: runErr, Run: &build.TestRun{Args: []string{"go", "test"}, Tail: []string{"FAIL"}}}}, Err: runErr},
			want: []string{"test: " + runErr.Error()},
		},
		{
			name: "cancelled: one failure, whatever each target saw",
			out:  &build.Outcome{Tests: []*build.TestOutcome{{Target: "test", Err: context.Canceled}}, Err: fmt.Errorf("solve: %w", context.Canceled)},
			want: []string{": cancelled"},
		},
		{
			name: "timed out",
			out:  &build.Outcome{Tests: []*build.TestOutcome{{Target: "test", Err: testErr}}, Err: &TimeoutError{Timeout: 60e9}},
			want: []string{": " + (&TimeoutError{Timeout: 60e9}).Error()},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := failures(g, progress.NewTracker(""), tc.out, "Dockerfile")
			var got []string
			for _, f := range fs {
				got = append(got, f.Stage+": "+f.Message)
				if f.File != "Dockerfile" || f.LogTail == nil {
					t.Errorf("failure %+v: want the file and a log tail", f)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("failures\n got %q\nwant %q", got, tc.want)
			}
		})
	}
	// A failed test command points at the stage's command, with its output.
	out := &build.Outcome{Tests: []*build.TestOutcome{{Target: "test", Err: runErr, Run: &build.TestRun{Args: []string{"go", "test"}, Tail: []string{"FAIL x"}}}}, Err: runErr}
	f := failures(g, progress.NewTracker(""), out, "Dockerfile")[0]
	test, _ := g.Stage("test")
	if f.Step != `test command ["go" "test"]` || fmt.Sprint(f.LogTail) != "[FAIL x]" || f.Line != test.Line || f.ExitCode == nil || *f.ExitCode != 2 {
		t.Errorf("failure of the test command: %+v", f)
	}
}
