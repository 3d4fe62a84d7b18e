package action

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sethvargo/go-githubactions"
	"github.com/stagegate/stagegate/internal/gate"
	"github.com/stagegate/stagegate/internal/github"
	"github.com/stagegate/stagegate/internal/report"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/text"
)

// maxCommandsPerLevel is how many annotations of one level a step may show
// through workflow commands; GitHub drops the rest.
const maxCommandsPerLevel = 10

// cancelReportTimeout bounds reporting a cancelled run.
const cancelReportTimeout = 5 * time.Second

// reporter reports a run as check runs, one per phase, and falls back to
// workflow-command annotations when the Checks API cannot be used. Reporting
// problems never change the build's verdict.
type reporter struct {
	ctx       context.Context
	a         *githubactions.Action
	in        *Inputs
	path      string // the Dockerfile, relative to the repository root
	workspace string

	mu      sync.Mutex
	checks  *github.Checks // nil: workflow commands only
	test    *github.Run
	image   *github.Run
	pending sync.WaitGroup
}

func newReporter(ctx context.Context, a *githubactions.Action, getenv func(string) string, in *Inputs, path string) *reporter {
	r := &reporter{ctx: ctx, a: a, in: in, path: path, workspace: getenv("GITHUB_WORKSPACE")}
	if in.Token == "" {
		a.Noticef("%s", "stagegate: no github-token, so no check runs: annotations are shown in this log. Set `github-token` (it defaults to github.token) and `permissions: checks: write`.")
		return r
	}
	ev, err := github.EventFromEnv(getenv)
	if err != nil {
		a.Warningf("%s", fmt.Sprintf("stagegate: no check runs: %v", err))
		return r
	}
	checks, err := github.NewChecks(ev, in.Token)
	if err != nil {
		a.Warningf("%s", fmt.Sprintf("stagegate: no check runs: %v", err))
		return r
	}
	r.checks = checks
	return r
}

func (r *reporter) name(p gate.Phase) string { return r.in.CheckName + " / " + string(p) }

// fallBack switches to workflow commands, saying once why.
func (r *reporter) fallBack(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.checks == nil {
		return
	}
	r.checks = nil
	if errors.Is(err, github.ErrForbidden) {
		r.a.Noticef("%s", fmt.Sprintf("stagegate could not create check runs (%v). Add `permissions: checks: write` to the job; pull requests from forks get a read-only token. Annotations are shown in this log instead.", err))
		return
	}
	r.a.Warningf("%s", fmt.Sprintf("stagegate could not report check runs (%v). Annotations are shown in this log instead; the build's result is unchanged.", err))
}

func (r *reporter) client() *github.Checks {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.checks
}

// startTests opens the test check as the test phase starts.
func (r *reporter) startTests(hasTests bool) {
	c := r.client()
	if c == nil || !hasTests {
		return
	}
	run, err := c.Start(context.WithoutCancel(r.ctx), r.name(gate.PhaseTest), github.Output{Title: "Building the test stages", Summary: "stagegate is building the test stages."})
	if err != nil {
		r.fallBack(err)
		return
	}
	r.mu.Lock()
	r.test = run
	r.mu.Unlock()
}

// startImage opens the image check as the final target starts. It is called
// from inside the build, so it does not wait for GitHub.
func (r *reporter) startImage() {
	c := r.client()
	if c == nil {
		return
	}
	r.pending.Add(1)
	go func() {
		defer r.pending.Done()
		run, err := c.Start(context.WithoutCancel(r.ctx), r.name(gate.PhaseImage), github.Output{Title: "Building the image", Summary: "The test stages passed; stagegate is building the final target."})
		if err != nil {
			r.fallBack(err)
			return
		}
		r.mu.Lock()
		r.image = run
		r.mu.Unlock()
	}()
}

// abandon concludes both checks failure when the run stopped before
// building: a required check must never pass on a run that tested nothing.
func (r *reporter) abandon(err error) {
	r.pending.Wait()
	c := r.client()
	if c == nil {
		return
	}
	title := text.TruncateBytes("stagegate did not run: "+firstLine(err.Error()), maxTitleBytes)
	out := github.Output{Title: title, Summary: "```\n" + err.Error() + "\n```"}
	for _, p := range []struct {
		phase gate.Phase
		run   *github.Run
	}{{gate.PhaseTest, r.test}, {gate.PhaseImage, r.image}} {
		if err := conclude(context.WithoutCancel(r.ctx), c, p.run, r.name(p.phase), github.ConclusionFailure, out, nil); err != nil {
			r.fallBack(err)
			return
		}
	}
}

// maxTitleBytes keeps a check run's title well under GitHub's 255 characters.
const maxTitleBytes = 200

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// finish completes the checks with the result, or prints annotations as
// workflow commands when there are no checks.
func (r *reporter) finish(res *result.Result, cancelled bool) {
	r.pending.Wait()
	ctx := context.WithoutCancel(r.ctx) // report a cancelled run too
	if cancelled {
		// The runner kills the job soon after cancelling it: report fast.
		var done context.CancelFunc
		ctx, done = context.WithTimeout(ctx, cancelReportTimeout)
		defer done()
	}
	var summary strings.Builder
	if err := report.Markdown(&summary, res); err != nil {
		summary.WriteString(err.Error())
	}
	var testAnns, imageAnns []github.Annotation
	if r.in.Annotations {
		testAnns = annotations(res, r.path, r.workspace, gate.PhaseTest)
		imageAnns = annotations(res, r.path, r.workspace, gate.PhaseImage)
	}
	failedIn := gate.Phase("")
	if res.Result != result.Passed {
		failedIn = failurePhase(res)
	}

	if c := r.client(); c != nil {
		err := r.completeTest(ctx, c, res, failedIn, cancelled, summary.String(), testAnns)
		if err == nil {
			err = r.completeImage(ctx, c, res, failedIn, cancelled, summary.String(), imageAnns)
		}
		if err == nil {
			return
		}
		r.fallBack(err)
	}
	r.workflowAnnotations(append(testAnns, imageAnns...))
}

// completeTest concludes the test check. It is success only when every test
// stage was built and tested; a run in which no test ran is a failure, or,
// by the user's choice, neutral (tests not required) or skipped (tests off).
func (r *reporter) completeTest(ctx context.Context, c *github.Checks, res *result.Result, failedIn gate.Phase, cancelled bool, summary string, anns []github.Annotation) error {
	var conclusion github.Conclusion
	var title string
	switch {
	case cancelled:
		conclusion, title = github.ConclusionCancelled, "Cancelled"
	case res.NoTests == result.NoTestsOff:
		conclusion, title = github.ConclusionSkipped, "Tests turned off: test-targets is none"
		summary = "No test stage was built: the test targets are `none`, an explicit choice.\n\n" + summary
	case res.NoTests == result.NoTestsFound && res.Result == result.Failed && failedIn == gate.PhaseTest:
		conclusion, title = github.ConclusionFailure, "No test stage found: name it with test-targets, or set test-targets: none"
	case failedIn == gate.PhaseTest || (res.Result != result.Passed && !testsPassed(res)):
		conclusion, title = github.ConclusionFailure, failureTitle(res)
	case res.NoTests == result.NoTestsFound:
		conclusion, title = github.ConclusionNeutral, "No test stage found; tests are not required"
		summary = "No stage of the Dockerfile looks like a test stage, and `require-tests` is false: the image was built without tests.\n\n" + summary
		r.a.Warningf("%s", "stagegate: no test stage found, so the image was built without tests. Name the test stages with `test-targets`, or set `test-targets: none` to say there are none.")
	case testsPassed(res):
		conclusion, title = github.ConclusionSuccess, "Test stages passed: "+strings.Join(res.TestTargetNames(), ", ")
	default:
		// Never success for tests that did not all pass.
		conclusion, title = github.ConclusionFailure, "The test stages did not all pass"
	}
	return conclude(ctx, c, r.test, r.name(gate.PhaseTest), conclusion, github.Output{Title: text.TruncateBytes(title, maxTitleBytes), Summary: summary}, anns)
}

// testsPassed reports whether every test stage was built and passed.
func testsPassed(res *result.Result) bool {
	seen := 0
	for _, st := range res.Stages {
		if !st.HasRole(result.RoleTest) {
			continue
		}
		if st.Status != result.StatusPassed && st.Status != result.StatusCached {
			return false
		}
		seen++
	}
	return seen > 0
}

// completeImage concludes the image check: success only when the image was
// built and the run passed. An image not built because a test failed is a
// failure too, so that requiring only this check still gates on the tests.
func (r *reporter) completeImage(ctx context.Context, c *github.Checks, res *result.Result, failedIn gate.Phase, cancelled bool, summary string, anns []github.Annotation) error {
	conclusion, title := github.ConclusionSuccess, "Image "+res.Target+" built"
	if res.Image != nil && res.Image.Size != nil {
		title += ": " + text.HumanBytes(*res.Image.Size)
		if d := targetDelta(res); d != "" {
			title += " (" + d + ")"
		}
	}
	switch {
	case cancelled:
		conclusion, title = github.ConclusionCancelled, "Cancelled"
	case res.NoTests == result.NoTestsFound && res.Result == result.Failed && failedIn == gate.PhaseTest:
		conclusion, title = github.ConclusionFailure, "Not built: no test stage found"
		summary = fmt.Sprintf("The final target `%s` was not built: tests are required and no test stage was found (see **%s**).\n\n%s", res.Target, r.name(gate.PhaseTest), summary)
	case failedIn == gate.PhaseTest:
		conclusion, title = github.ConclusionFailure, "Not built: a test stage failed"
		summary = fmt.Sprintf("The final target `%s` was not built, or not published, because the test stages failed (see **%s**).\n\n%s", res.Target, r.name(gate.PhaseTest), summary)
	case res.Failure == nil && res.Error == "" && len(res.Comparison.Exceeded()) > 0:
		conclusion, title = github.ConclusionFailure, budgetTitle(res)
	case res.Result != result.Passed:
		conclusion, title = github.ConclusionFailure, failureTitle(res)
	}
	out := github.Output{Title: text.TruncateBytes(title, maxTitleBytes), Summary: summary, Text: imageText(res, r.path, summary)}
	return conclude(ctx, c, r.image, r.name(gate.PhaseImage), conclusion, out, anns)
}

// conclude completes a phase's check run, or creates it completed when the
// phase never started one.
func conclude(ctx context.Context, c *github.Checks, run *github.Run, name string, conclusion github.Conclusion, out github.Output, anns []github.Annotation) error {
	if run == nil {
		_, err := c.CreateCompleted(ctx, name, conclusion, out, anns)
		return err
	}
	return c.Complete(ctx, run, conclusion, out, anns)
}

func failureTitle(res *result.Result) string {
	f := res.Failure
	if f == nil || f.Stage == "" {
		if res.Error != "" {
			return text.TruncateBytes("Failed: "+res.Error, 200)
		}
		return "Failed"
	}
	t := fmt.Sprintf("Stage %s failed at line %d", f.Stage, f.Line)
	if f.ExitCode != nil {
		t += " (exit code " + strconv.Itoa(*f.ExitCode) + ")"
	}
	return t
}

// workflowAnnotations prints annotations as workflow commands: failures
// first, at most maxCommandsPerLevel of each level, the rest counted.
func (r *reporter) workflowAnnotations(anns []github.Annotation) {
	shown := map[string]int{}
	hidden := 0
	for _, level := range []string{levelFailure, levelWarning, levelNotice} {
		for _, an := range anns {
			if an.Level != level {
				continue
			}
			if shown[level] == maxCommandsPerLevel {
				hidden++
				continue
			}
			shown[level]++
			a := r.a.WithFieldsMap(map[string]string{
				"file":    an.Path,
				"line":    strconv.Itoa(an.StartLine),
				"endLine": strconv.Itoa(an.EndLine),
				"title":   an.Title,
			})
			switch level {
			case levelFailure:
				a.Errorf("%s", an.Message)
			case levelWarning:
				a.Warningf("%s", an.Message)
			default:
				a.Noticef("%s", an.Message)
			}
		}
	}
	if hidden > 0 {
		r.a.Noticef("%s", fmt.Sprintf("stagegate: %d more annotations are not shown (GitHub shows %d per level); the job summary has every stage.", hidden, maxCommandsPerLevel))
	}
}
