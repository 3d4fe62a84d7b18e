// Package assemble makes a run's result.Result from the plan and what the
// build reported: the stage rows and their statuses, the failures in order,
// what each test stage tested, the build checks and the verdict. Its
// functions take values and return values and never talk to BuildKit, so the
// rules that decide a stage's status are tested without a daemon.
package assemble

import (
	"fmt"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/progress"
	"github.com/stagegate/stagegate/internal/result"
)

// Run is what one run reported, as the assembly reads it.
type Run struct {
	// File is the Dockerfile, Context the build context.
	File, Context string
	StartedAt     time.Time
	Builder       string

	// Solved are the targets the build solved.
	Solved []*dockerfile.Stage
	// Stats are the status stream's figures by stage name. PlatformStats
	// are the same by stage and platform, set only when several platforms
	// were built: there is then one row per stage and platform.
	Stats         map[string]*progress.StageStats
	PlatformStats map[progress.StageKey]*progress.StageStats
	// Failures are the build's failures, pinned to their steps, in order.
	Failures []result.Failure
	// Tests are the test stages' outcomes, by stage name.
	Tests map[string]*build.TestOutcome
	// Checks are BuildKit's Dockerfile check warnings as the stream gave
	// them, repeats included.
	Checks []*client.VertexWarning
	Image  *result.Image
	// Warnings are what the run has warned of so far, in order.
	Warnings []string
	// Interrupted, when set, is why the run was stopped from outside.
	Interrupted string
	// TimedOut: the run's own time limit stopped the build.
	TimedOut bool

	// TestReports are the test report patterns the user set; RequireTests
	// fails a test stage in which no test ran; GoModule is the context's Go
	// module path ("" : none), to resolve the files test reports name.
	TestReports  []string
	RequireTests bool
	GoModule     string
}

// noTestsWarning is said when no test stage was found and none is required.
const noTestsWarning = "no test stage found: the image was built without tests (tests are not required)"

// Result is the result of a run that built what the plan says. Its verdict
// is passed, failed when anything failed, or cancelled when the run was
// interrupted.
func Result(plan *dockerfile.Plan, run Run) *result.Result {
	res := planned(plan, run)
	res.Builder = run.Builder
	if res.NoTests == result.NoTestsFound {
		res.Warnings = append(res.Warnings, noTestsWarning)
	}
	res.Warnings = append(res.Warnings, run.Warnings...)
	res.Image = run.Image

	res.Stages = Rows(plan, run.Solved, run.Stats, run.PlatformStats)
	res.Failures = append(res.Failures, run.Failures...)
	for _, f := range res.Failures {
		markFailed(res.Stages, f.Stage)
	}
	warnings, failures := testStages(plan, res.Stages, run)
	res.Warnings = append(res.Warnings, warnings...)
	res.Failures = append(res.Failures, failures...)

	res.Result = result.Passed
	if len(res.Failures) > 0 {
		res.Result = result.Failed
		res.Failure = &res.Failures[0]
		res.Error = res.Failure.Message
	}
	if run.TimedOut {
		timedOut(res)
	}
	if run.Interrupted != "" {
		interrupted(res, run.Stats, run.Interrupted)
	}
	res.BuildChecks = BuildChecks(run.File, run.Checks)
	return res
}

// markFailed marks a failed stage's row failed. With a row per platform, a
// row the status stream already showed failing is the one: a failure names
// the stage, not its platform, so the first row is taken only when none
// shows it.
func markFailed(rows []result.Stage, stage string) {
	first := -1
	for i := range rows {
		if rows[i].Name != stage {
			continue
		}
		if rows[i].Status == result.StatusFailed {
			return
		}
		if first < 0 {
			first = i
		}
	}
	if first >= 0 {
		rows[first].Status = result.StatusFailed
	}
}

// Untested is the result of a run that requires tests and has no test
// stage: it fails before anything is built, with the one-line fix naming
// option (how the user names the test targets). The failure points at the
// stage that came closest (the first candidate not picked), else at the
// Dockerfile's first line.
func Untested(plan *dockerfile.Plan, run Run, option string) *result.Result {
	res := planned(plan, run)
	res.Result = result.Failed
	res.Error = fmt.Sprintf("no test stage found: name the test stages with %s, or set it to %q to build without tests", option, dockerfile.NoTests)
	line, msg := 1, res.Error
	if len(plan.Rejected) > 0 {
		c := plan.Rejected[0]
		line = c.Line
		msg += fmt.Sprintf(". Stage %s looked like one: %s", c.Name, c.Reason)
	}
	res.Failure = &result.Failure{File: res.File, Line: line, EndLine: line, Message: msg, LogTail: []string{}}
	res.Failures = []result.Failure{*res.Failure}
	for _, st := range plan.Stages {
		row := Describe(plan, st)
		row.Status = result.StatusSkipped
		res.Stages = append(res.Stages, row)
	}
	return res
}

// DockerfileFailure is the result of a run whose Dockerfile does not parse:
// a failure at the lines the parser names.
func DockerfileFailure(file, context string, startedAt time.Time, dfErr *dockerfile.Error) *result.Result {
	return &result.Result{
		Result: result.Failed, File: file, Context: context, StartedAt: startedAt,
		TestTargets: []result.TestTarget{}, Stages: []result.Stage{}, Error: dfErr.Error(),
		Failure: &result.Failure{File: file, Line: dfErr.Line, EndLine: max(dfErr.EndLine, dfErr.Line), Message: dfErr.Err.Error(), LogTail: []string{}},
	}
}

// planned is a run's result before anything is built: where it runs and
// what the plan chose.
func planned(plan *dockerfile.Plan, run Run) *result.Result {
	p := planOf(plan)
	return &result.Result{
		Target: p.Target, TargetReason: p.TargetReason, TestTargets: p.TestTargets, Rejected: p.Rejected, NoTests: p.NoTests,
		File: run.File, Context: run.Context, StartedAt: run.StartedAt, Stages: []result.Stage{},
	}
}
