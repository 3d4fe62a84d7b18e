package action

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/sethvargo/go-githubactions"
	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/gate"
	"github.com/stagegate/stagegate/internal/options"
	"github.com/stagegate/stagegate/internal/report"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/syncio"
)

// Exit codes, as the CLI's.
const (
	ExitPassed = options.ExitPassed
	ExitFailed = options.ExitFailed
	ExitUsage  = options.ExitUsage
)

// Env is what the action reads from its process.
type Env struct {
	Getenv func(string) string
	// Stdout receives workflow commands and the build log.
	Stdout io.Writer
}

// Run runs the action and returns the process's exit code. A run cancelled
// by a signal returns ExitFailed; package main exits 128 + the signal.
func Run(ctx context.Context, env Env) int {
	// Workflow commands and the build log share one stream; whole writes
	// never interleave.
	stdout := syncio.New(env.Stdout)
	a := githubactions.New(githubactions.WithGetenv(env.Getenv), githubactions.WithWriter(stdout))
	workspace := env.Getenv("GITHUB_WORKSPACE")
	in, err := ReadInputs(a, workspace)
	// Mask every secret before anything else is printed.
	if in != nil {
		for _, v := range in.Gate.Redactor().Values() {
			a.AddMask(v)
		}
	}
	if err != nil {
		return notRun(ctx, a, env.Getenv, reportingInputs(a), "", err)
	}
	cfg := &in.Gate
	cfg.Out = stdout
	cfg.Progress = progressui.PlainMode

	// Plan once, before anything is built: a bad target is an input error.
	// A Dockerfile that does not parse is the user's code failing: it is
	// reported at its line like a failed build.
	plan, err := gate.Prepare(cfg)
	var dfErr *dockerfile.Error
	if err != nil && !errors.As(err, &dfErr) {
		return notRun(ctx, a, env.Getenv, in, repoPath(cfg.DockerfilePath(), workspace), inputError(err))
	}

	rep := newReporter(ctx, a, env.Getenv, in, repoPath(cfg.DockerfilePath(), workspace))
	var lookup *baseLookup
	if in.Compare {
		lookup = startLookup(ctx, env.Getenv, in, repoPath(cfg.DockerfilePath(), workspace))
	}
	rep.startTests(plan != nil && len(plan.Tests) > 0)

	// One log group per phase; the build's own output is wrapped so that
	// nothing it prints runs as a workflow command.
	var mu sync.Mutex
	openGroup := func(title string) func() {
		a.Group(title)
		resume := stopCommands(a)
		return func() { resume(); a.EndGroup() }
	}
	closeGroup := openGroup("stagegate: build (test stages first)")
	cfg.OnPhase = func(p gate.Phase) {
		if p != gate.PhaseImage {
			return
		}
		rep.startImage()
		mu.Lock()
		defer mu.Unlock()
		closeGroup()
		closeGroup = openGroup("stagegate: image (final target)")
	}
	var res *result.Result
	if dfErr != nil {
		res, err = gate.DockerfileFailure(cfg, dfErr), nil
	} else {
		res, err = gate.Execute(ctx, cfg, plan)
	}
	mu.Lock()
	closeGroup()
	mu.Unlock()
	var usage *gate.UsageError
	if errors.As(err, &usage) {
		err = inputError(err)
		a.Errorf("%s", err)
		rep.abandon(err)
		return ExitUsage
	}
	if err != nil {
		// No builder, or the builder went away before anything was built:
		// still a verdict, reported like any other failure.
		res = &result.Result{
			Result: result.Failed, Target: plan.Target.Name, TestTargets: []result.TestTarget{},
			File: cfg.DockerfilePath(), Context: cfg.ContextDir, Stages: []result.Stage{},
			Error: err.Error(),
		}
		if ctx.Err() != nil {
			res.Result = result.Cancelled
			if cause := context.Cause(ctx); cause != nil && !strings.HasPrefix(res.Error, "cancelled") {
				res.Error = cause.Error()
			}
		}
	}
	if res.Result == result.Failed && (res.Failure == nil || res.Failure.Stage == "") {
		// A failure outside the stages has no stage annotation to show it.
		a.Errorf("%s", res.Error)
	}
	if in.Compare || len(in.Budgets) > 0 {
		compare(a, res, lookup, in.Budgets)
	}

	relativePaths(res, workspace)
	stageGroups(a, res)
	reportPath := writeReport(a, env.Getenv, res)
	rep.finish(res, ctx.Err() != nil)
	if in.Summary {
		writeSummary(a, env.Getenv, res)
	}
	writeOutputs(a, env.Getenv, res, reportPath)

	code, why := options.Verdict(res, in.FailOn)
	if why != "" {
		a.Errorf("%s", why)
	}
	return code
}

// notRun reports a run that stopped before building (an input that cannot
// be used): an error in the log, and both checks concluded failure with the
// reason, so that a required check never passes on a run that tested nothing.
func notRun(ctx context.Context, a *githubactions.Action, getenv func(string) string, in *Inputs, path string, err error) int {
	a.Errorf("%s", err)
	newReporter(ctx, a, getenv, in, path).abandon(err)
	return ExitUsage
}

// reportingInputs are the inputs that say how to report, read on their own
// when the others cannot be used: the failure is still reported.
func reportingInputs(a *githubactions.Action) *Inputs {
	return &Inputs{Token: a.GetInput("github-token"), CheckName: cmp.Or(a.GetInput("check-name"), "stagegate"), Annotations: true}
}

// inputError names the input behind a usage or planning error: the option
// the error carries, as the action's user sets it.
func inputError(err error) error {
	var usage *gate.UsageError
	if errors.As(err, &usage) && usage.Option != "" {
		if name := optionName(usage.Option); name != "" {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return err
}

// stopCommands makes the runner ignore workflow commands until the returned
// function is called, so a "::" line printed by a RUN step is never executed.
func stopCommands(a *githubactions.Action) func() {
	token := randomToken()
	a.IssueCommand(&githubactions.Command{Name: "stop-commands", Message: token})
	return func() { a.IssueCommand(&githubactions.Command{Name: token}) }
}

func randomToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// stageGroups prints one log group per stage; the failing stage's group holds
// its last lines of output.
func stageGroups(a *githubactions.Action, res *result.Result) {
	for i := range res.Stages {
		st := &res.Stages[i]
		a.Group(fmt.Sprintf("stage %s: %s", st.Name, stageLine(st)))
		resume := stopCommands(a)
		a.Infof("%s", fmt.Sprintf("stage %s (Dockerfile lines %d-%d), base %s, roles %v", st.Name, st.Line, st.EndLine, st.Base, st.Roles))
		if f := res.Failure; f != nil && f.Stage == st.Name {
			a.Infof("%s", fmt.Sprintf("failed at line %d: %s", f.Line, f.Message))
			for _, l := range f.LogTail {
				a.Infof("%s", "  "+l)
			}
		}
		resume()
		a.EndGroup()
	}
}

// fileCommand writes to a GITHUB_* file when the runner gave one.
func fileCommand(a *githubactions.Action, getenv func(string) string, name, msg string) (err error) {
	env := "GITHUB_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	if getenv(env) == "" {
		return fmt.Errorf("%s is not set", env)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write %s: %v", env, r)
		}
	}()
	a.IssueFileCommand(&githubactions.Command{Name: name, Message: msg})
	return nil
}

func writeSummary(a *githubactions.Action, getenv func(string) string, res *result.Result) {
	var b strings.Builder
	if err := report.Markdown(&b, res); err != nil {
		a.Warningf("%s", fmt.Sprintf("render the job summary: %v", err))
		return
	}
	if err := fileCommand(a, getenv, "step-summary", b.String()); err != nil {
		a.Warningf("%s", fmt.Sprintf("job summary not written: %v", err))
	}
}

// reportDir is where the action writes its JSON report, relative to the
// workspace. A later step must be able to open the file at the path the
// report output gives, and that step runs on the runner or in a job
// container, which mount the workspace at different places (the action's own
// container at /github/workspace): a path relative to the workspace is valid
// in all three. RUNNER_TEMP is not: the runner passes the host's path, which
// is not mounted in the action's container (newer runners mount that folder
// at /github/runner_temp, older ones not at all), and a job container knows
// it under yet another path.
const reportDir = ".stagegate"

// writeReport writes the JSON report under reportDir and returns its path
// relative to the workspace, or "" when it could not be written.
func writeReport(a *githubactions.Action, getenv func(string) string, res *result.Result) string {
	workspace := getenv("GITHUB_WORKSPACE")
	rel := path.Join(reportDir, reportName(getenv("GITHUB_ACTION")))
	file := filepath.Join(workspace, filepath.FromSlash(rel)) // relative to the working directory without a workspace
	if err := writeReportFile(file, workspace, res); err != nil {
		a.Warningf("%s", fmt.Sprintf("JSON report not written: %v", err))
		return ""
	}
	return rel
}

// reportName names the report after the step (GITHUB_ACTION: its id, or
// __owner_repo with a counter), so that two stagegate steps of a job keep
// their own reports.
func reportName(step string) string {
	step = strings.Trim(unsafeName.ReplaceAllString(step, "-"), "-.")
	if step == "" {
		return "report.json"
	}
	return "report-" + step + ".json"
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// writeReportFile writes the report and its directory. The action runs as
// root in its container, and the runner's user, who owns the workspace,
// could not delete root's files from it (actions/checkout cleans the
// workspace of a later job on the same runner): they are given to the
// workspace's owner. The directory ignores itself, so that git status and
// git add in a later step do not see it.
func writeReportFile(file, workspace string, res *result.Result) error {
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	ignore := filepath.Join(dir, ".gitignore")
	if err := os.WriteFile(ignore, []byte("# written by stagegate\n*\n"), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", ignore, err)
	}
	if err := report.WriteJSONFile(file, res); err != nil {
		return err
	}
	giveToOwnerOf(workspace, dir, ignore, file)
	return nil
}

// writeOutputs sets the step outputs, each with a delimiter that cannot occur
// in its value.
func writeOutputs(a *githubactions.Action, getenv func(string) string, res *result.Result, reportPath string) {
	failedStage := ""
	if res.Failure != nil {
		failedStage = res.Failure.Stage
	}
	stages, _ := json.Marshal(res.Stages)
	imageSize, digest, imageID, metadata := "", "", "", "{}"
	if res.Image != nil {
		digest, imageID = res.Image.Digest, res.Image.ImageID
		if md, err := json.Marshal(res.Image.Metadata); err == nil && res.Image.Metadata != nil {
			metadata = string(md)
		}
		if res.Image.Size != nil {
			imageSize = strconv.FormatInt(*res.Image.Size, 10)
		}
	}
	outputs := [][2]string{
		{"result", string(res.Result)},
		{"failed-stage", failedStage},
		{"stages", string(stages)},
		{"image-size", imageSize},
		{"size-delta", sizeDelta(res)},
		{"digest", digest},
		{"imageid", imageID},
		{"metadata", metadata},
		{"report", reportPath},
	}
	for _, o := range outputs {
		delim := "stagegate_" + randomToken()
		for strings.Contains(o[1], delim) {
			delim = "stagegate_" + randomToken()
		}
		msg := fmt.Sprintf("%s<<%s\n%s\n%s", o[0], delim, o[1], delim)
		if err := fileCommand(a, getenv, "output", msg); err != nil {
			a.Warningf("%s", fmt.Sprintf("output %s not set: %v", o[0], err))
			return
		}
	}
}
