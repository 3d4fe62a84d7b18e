// Package gate runs stagegate's pipeline: analyse the Dockerfile, build the
// test stages then the final stage in one BuildKit session, measure every
// built stage, and return one result.Result for the reporters.
package gate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/util/progress/progressui"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/progress"
	"github.com/stagegate/stagegate/internal/result"
)

// Config is one run's configuration, from flags or action inputs.
type Config struct {
	ContextDir  string
	File        string // the Dockerfile; ContextDir/Dockerfile when empty
	Target      string
	TestTargets []string
	BuildArgs   map[string]string
	Labels      map[string]string
	NoCache     bool
	Platforms   []string
	// SkipSizes turns off measuring stage sizes.
	SkipSizes bool
	// LayerCachePath is the file that remembers layers' uncompressed sizes
	// between runs ("" : in memory only). See sizes.DefaultLayerCachePath.
	LayerCachePath string
	// Timeout bounds the whole build (0: none).
	Timeout time.Duration

	// TestMode says how test stages test: run their command, trust the
	// build, or decide per stage (auto: run when the stage sets CMD or
	// ENTRYPOINT itself).
	TestMode TestMode
	// TestEnv is added to a test run's environment; TestNetwork gives it
	// the network; TestTimeout bounds it.
	TestEnv     []string
	TestNetwork bool
	TestTimeout time.Duration
	// TestReports are paths or globs of test reports in the test stages.
	TestReports []string
	// NoFailFast builds the final target even when a test stage failed
	// (it is then reported, but never pushed or loaded).
	NoFailFast bool
	// OptionName says how the user sets an option named by the CLI's flag
	// ("test-target"), for messages that tell them what to change; nil or ""
	// means the flag itself.
	OptionName func(flag string) string
	// RequireTests fails a run in which no test ran: no test stage was
	// found and none named, or a test stage runs no test. Naming "none" as
	// the test targets is an explicit choice and passes.
	RequireTests bool

	// Platforms are the final target's platforms; TestPlatforms the test
	// stages' (none: the builder's own).
	TestPlatforms []string

	// Tags name the final image; Push pushes it to their registries; Load
	// puts it into the Docker Engine's image store.
	Tags []string
	Push bool
	Load bool
	// RegistryAuth holds registry credentials (nil: none).
	RegistryAuth *build.RegistryAuth
	// CacheFrom and CacheTo are cache backends, parsed (build.ParseCache).
	CacheFrom, CacheTo []client.CacheOptionsEntry
	// Secrets and SSH are served to RUN --mount=type=secret / type=ssh.
	Secrets *build.Secrets
	SSH     session.Attachable
	// BuildContexts are named contexts: name=path, name=docker-image://REF,
	// name=target:STAGE (as buildx's --build-context).
	BuildContexts map[string]string
	// Provenance ("mode=min" or "mode=max") and SBOM request attestations.
	Provenance string
	SBOM       bool
	// OnPhase, when set, is called as each phase starts: PhaseTest before
	// the first test stage, PhaseImage before the final target.
	OnPhase func(Phase)

	Connect build.ConnectOptions
	// Progress is the display mode of BuildKit's progress output to Out.
	Progress progressui.DisplayMode
	Out      io.Writer
}

// TestMode is how a test stage's tests are run.
type TestMode = dockerfile.TestMode

const (
	TestModeAuto  = dockerfile.TestModeAuto
	TestModeBuild = dockerfile.TestModeBuild
	TestModeRun   = dockerfile.TestModeRun
)

// Phase is a part of a run that a check reports on.
type Phase string

const (
	PhaseTest  Phase = "test"  // building the test stages
	PhaseImage Phase = "image" // building the final target
)

// CancelledError is a run cancelled from outside (a signal).
type CancelledError struct{ Reason string }

func (e *CancelledError) Error() string { return "cancelled: " + e.Reason }

// TimeoutError is a build that ran out of time.
type TimeoutError struct{ Timeout time.Duration }

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("the build did not finish within %s (the timeout): it was stopped", e.Timeout)
}

// UsageError is a problem with the configuration: nothing was built.
type UsageError struct {
	// Option, when known, is the setting at fault, named by the CLI's flag
	// ("file", "platform", "build-context"; "context" is the CONTEXT
	// argument), so that the CLI can name its flag and the action its input.
	// The message names neither.
	Option string
	Err    error
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// optionErrorf is a UsageError in the setting option.
func optionErrorf(option, format string, args ...any) error {
	return &UsageError{Option: option, Err: fmt.Errorf(format, args...)}
}

// option is how the user sets the option the CLI calls flag.
func (c *Config) option(flag string) string {
	if c.OptionName != nil {
		if name := c.OptionName(flag); name != "" {
			return name
		}
	}
	return "--" + flag
}

// DockerfilePath is the Dockerfile the configuration names.
func (c *Config) DockerfilePath() string {
	if c.File != "" {
		return c.File
	}
	return filepath.Join(c.ContextDir, "Dockerfile")
}

// Analyze reads and analyses the Dockerfile. A syntax error is returned as a
// *dockerfile.Error; a missing file as a UsageError.
func Analyze(cfg *Config) (*dockerfile.Graph, error) {
	path := cfg.DockerfilePath()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, optionErrorf("file", "read Dockerfile: %w", err)
	}
	opts := dockerfile.Options{BuildArgs: cfg.BuildArgs}
	if len(cfg.Platforms) > 0 {
		p, err := parsePlatform(cfg.Platforms[0])
		if err != nil {
			return nil, optionErrorf("platform", "platform %q: %w", cfg.Platforms[0], err)
		}
		opts.TargetPlatform = &p
	}
	return dockerfile.Parse(path, data, opts)
}

// Prepare reads the Dockerfile and plans the run: the target, the test
// stages and why. It is computed once and read by the build and every
// reporter. A Dockerfile that does not parse is a *dockerfile.Error; a plan
// the configuration makes impossible a UsageError.
func Prepare(cfg *Config) (*dockerfile.Plan, error) {
	g, err := Analyze(cfg)
	if err != nil {
		return nil, err
	}
	plan, err := g.Plan(dockerfile.PlanOptions{Target: cfg.Target, TestPatterns: cfg.TestTargets, TestMode: cfg.TestMode})
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	return plan, nil
}

// Run prepares the plan and executes it (see Execute). A Dockerfile that does
// not parse is a failed result at its line.
func Run(ctx context.Context, cfg *Config) (*result.Result, error) {
	plan, err := Prepare(cfg)
	var dfErr *dockerfile.Error
	if errors.As(err, &dfErr) {
		return DockerfileFailure(cfg, dfErr), nil
	}
	if err != nil {
		return nil, err
	}
	return Execute(ctx, cfg, plan)
}

// DockerfileFailure is the result of a run whose Dockerfile does not parse.
func DockerfileFailure(cfg *Config, dfErr *dockerfile.Error) *result.Result {
	return &result.Result{
		Result: result.Failed, File: cfg.DockerfilePath(), Context: cfg.ContextDir, StartedAt: time.Now().UTC(),
		TestTargets: []result.TestTarget{}, Stages: []result.Stage{}, Error: dfErr.Error(),
		Failure: &result.Failure{File: cfg.DockerfilePath(), Line: dfErr.Line, EndLine: max(dfErr.EndLine, dfErr.Line), Message: dfErr.Err.Error(), LogTail: []string{}},
	}
}

// Execute builds and measures what the plan says; it returns a result
// whenever the configuration was usable, also when the build failed (the
// error is then nil and the result says "failed"). The error is non-nil for
// a UsageError or when no builder could be reached.
func Execute(ctx context.Context, cfg *Config, plan *dockerfile.Plan) (*result.Result, error) {
	started := time.Now()
	if st, err := os.Stat(cfg.ContextDir); err != nil || !st.IsDir() {
		return nil, optionErrorf("context", "build context %q is not a directory", cfg.ContextDir)
	}
	g := plan.Graph
	res := &result.Result{
		File:        cfg.DockerfilePath(),
		Context:     cfg.ContextDir,
		StartedAt:   started.UTC(),
		TestTargets: []result.TestTarget{},
		Stages:      []result.Stage{},
	}
	defer func() { res.Duration = time.Since(started).Seconds() }()
	describePlan(res, plan)
	for _, st := range plan.Stages {
		if st.BaseError != "" {
			return nil, &UsageError{Option: "build-arg", Err: fmt.Errorf("%s:%d: %s", g.File, st.Line, st.BaseError)}
		}
	}
	if res.NoTests == result.NoTestsFound && cfg.RequireTests {
		untested(res, plan, cfg.option("test-target"))
		return res, nil
	}
	if res.NoTests == result.NoTestsFound {
		res.Warnings = append(res.Warnings, "no test stage found: the image was built without tests (tests are not required)")
	}

	if err := checkPushCredentials(cfg); err != nil {
		return nil, err
	}
	b, err := build.Connect(ctx, cfg.Connect)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	res.Builder = b.Address

	redactor := cfg.redactor()
	testOut := redactor.Writer(outOrDiscard(cfg.Out))
	defer testOut.Close()
	features, err := b.Features(ctx)
	if err != nil {
		return nil, err
	}
	req, err := newRequest(ctx, cfg, g, plan, b, features, testOut)
	if err != nil {
		return nil, err
	}
	if !cfg.SkipSizes {
		req.StageExports = sizingPlan(cfg, plan).Exports(features)
	}
	job, err := b.NewJob(ctx, req)
	if err != nil {
		return nil, err
	}

	soleStage := ""
	if len(g.Stages) == 1 {
		soleStage = g.Stages[0].Name
	}
	tracker := progress.NewTracker(soleStage)
	redacted := redactor.Writer(outOrDiscard(cfg.Out))
	defer redacted.Close()
	out := io.Writer(redacted)
	mode := cfg.Progress
	if mode == "" {
		mode = progressui.AutoMode
	}
	display, err := progressui.NewDisplay(out, mode)
	if err != nil {
		return nil, optionErrorf("progress", "progress %q: %w", mode, err)
	}
	statusCh, waitDisplay := tracker.Display(ctx, display)
	buildCtx, cancelBuild := ctx, context.CancelFunc(func() {})
	if cfg.Timeout > 0 {
		buildCtx, cancelBuild = context.WithTimeoutCause(ctx, cfg.Timeout, &TimeoutError{cfg.Timeout})
	}
	outcome := job.Build(buildCtx, statusCh)
	if cfg.Push && features.Push == build.PushByEngine && outcome.Err == nil {
		pushFromEngine(buildCtx, cfg, b.Driver, outcome)
	}
	if buildCtx.Err() != nil && outcome.Err != nil {
		// Say why the build stopped: the timeout, or the job was cancelled.
		outcome.Err = context.Cause(buildCtx)
		for _, to := range outcome.Tests {
			if to != nil && to.Err != nil {
				to.Err = outcome.Err
			}
		}
	}
	cancelBuild()
	if err := waitDisplay(); err != nil && outcome.Err == nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("progress display: %v", err))
	}

	tracker.UseNames(outcome.StepNames)
	res.Stages = stageResults(plan, tracker, outcome, len(cfg.Platforms) > 1)
	res.Result = result.Passed
	res.Failures = failures(g, tracker, outcome, res.File)
	if len(res.Failures) > 0 {
		res.Result = result.Failed
		res.Failure = &res.Failures[0]
		res.Error = res.Failure.Message
		for _, f := range res.Failures {
			if s := res.Stage(f.Stage); s != nil {
				s.Status = result.StatusFailed
			}
		}
	}
	if outcome.Response != nil {
		res.Image = imageResult(cfg, outcome.Response)
		if cfg.Load && features.Load != build.NoLoad && len(cfg.Tags) > 0 {
			if id, err := loadedImageID(ctx, b.Driver, cfg.Tags[0]); err == nil {
				res.Image.ImageID = id
			} else {
				res.Warnings = append(res.Warnings, err.Error())
			}
		}
	}
	if outcome.CacheErr != nil {
		res.Warnings = append(res.Warnings, build.Explain(outcome.CacheErr).Error())
	}
	testResults(plan, cfg, res, outcome)
	if ctx.Err() != nil && outcome.Err != nil {
		interrupted(res, tracker, message(outcome.Err))
	}
	res.BuildChecks = buildChecks(res.File, tracker.Warnings())
	if !cfg.SkipSizes {
		measureSizes(ctx, cfg, plan, b, features, job, res, outcome)
	}
	redactResult(redactor, res)
	return res, nil
}

// frontendTarget is the name the dockerfile frontend knows a stage by: its
// name, or "" (the default target) for an unnamed last stage. BuildKit cannot
// build any other unnamed stage on its own.
func frontendTarget(g *dockerfile.Graph, st *dockerfile.Stage) (string, error) {
	switch {
	case st.Named:
		return st.Name, nil
	case st.Index == len(g.Stages)-1:
		return "", nil
	}
	return "", usageErrorf("stage %d (line %d) has no name, and BuildKit builds only named stages or the last one: name it with \"FROM %s AS <name>\"", st.Index, st.Line, st.BaseRaw)
}

// stageOf is the stage a frontend target names (see frontendTarget).
func stageOf(g *dockerfile.Graph, target string) *dockerfile.Stage {
	if st, ok := g.Stage(target); ok && target != "" {
		return st
	}
	return g.Stages[len(g.Stages)-1]
}

// stageResults turns the stream's per-stage stats into result rows for every
// stage the plan reaches.
func stageResults(plan *dockerfile.Plan, tr *progress.Tracker, out *build.Outcome, multiPlatform bool) []result.Stage {
	g := plan.Graph
	var solved []*dockerfile.Stage
	for _, name := range out.Solved {
		solved = append(solved, stageOf(g, name))
	}
	built := map[int]bool{}
	for _, st := range g.Reach(solved...) {
		built[st.Index] = true
	}
	rows := make([]result.Stage, 0, len(plan.Stages))
	if !multiPlatform {
		stats := tr.Stages()
		for _, st := range plan.Stages {
			rows = append(rows, stageRow(Describe(plan, st), stats[st.Name], built[st.Index]))
		}
		return rows
	}
	byPlatform := map[string]map[string]*progress.StageStats{}
	for k, s := range tr.PlatformStages(platforms.DefaultString()) {
		if byPlatform[k.Stage] == nil {
			byPlatform[k.Stage] = map[string]*progress.StageStats{}
		}
		byPlatform[k.Stage][k.Platform] = s
	}
	for _, st := range plan.Stages {
		ps := slices.Sorted(maps.Keys(byPlatform[st.Name]))
		if len(ps) == 0 {
			rows = append(rows, stageRow(Describe(plan, st), nil, built[st.Index]))
			continue
		}
		for _, p := range ps {
			row := Describe(plan, st)
			row.Platform = p
			rows = append(rows, stageRow(row, byPlatform[st.Name][p], built[st.Index]))
		}
	}
	return rows
}

// stageRow completes a stage's row from what the status stream said of it.
func stageRow(row result.Stage, s *progress.StageStats, built bool) result.Stage {
	switch {
	case s != nil && s.Failed != nil:
		row.Status = result.StatusFailed
	case s != nil && s.Done:
		row.Status = result.StatusPassed
		if !s.Ran && s.Steps > 0 && s.CachedSteps == s.Steps {
			row.Status = result.StatusCached
		}
	case built:
		// A target that was solved had every stage it reaches built, even
		// when the status stream did not say so of each step: BuildKit may
		// have merged a step into another build's step of another name,
		// and then tells this build only of that one (see
		// progress.Tracker's steps). And a stage with no step of its own
		// (FROM another stage, then only metadata instructions) is built
		// when its target is.
		row.Status = result.StatusPassed
	case s != nil:
		row.Status = result.StatusCancelled
	default:
		row.Status = result.StatusSkipped
	}
	if s != nil {
		row.Duration = s.Duration.Seconds()
		if !s.Started.IsZero() {
			row.StartedAt, row.CompletedAt = ptr(s.Started.UTC()), ptr(s.Ended.UTC())
		}
		row.Steps = s.Steps
		row.CachedSteps = s.CachedSteps
	}
	return row
}

// Describe is a stage's result row before anything is built: where it is,
// what it stands on and why the plan builds it.
func Describe(plan *dockerfile.Plan, st *dockerfile.Stage) result.Stage {
	g := plan.Graph
	row := result.Stage{
		Name:    st.Name,
		Index:   st.Index,
		Line:    st.Line,
		EndLine: st.EndLine,
		Base:    st.Base,
	}
	if st.BaseStage >= 0 {
		row.BaseStage = g.Stages[st.BaseStage].Name
	}
	for _, d := range st.Deps {
		if d.Stage >= 0 && !slices.Contains(row.DependsOn, g.Stages[d.Stage].Name) {
			row.DependsOn = append(row.DependsOn, g.Stages[d.Stage].Name)
		}
	}
	if _, ok := plan.Test(st); ok {
		row.Roles = append(row.Roles, result.RoleTest)
	}
	if st == plan.Target {
		row.Roles = append(row.Roles, result.RoleTarget)
	}
	if len(row.Roles) == 0 && slices.Contains(plan.Stages, st) {
		row.Roles = []result.Role{result.RoleDep}
	}
	for _, t := range append(plan.TestStages(), plan.Target) {
		if slices.Contains(g.Reach(t), st) && !slices.Contains(row.ReachedBy, t.Name) {
			row.ReachedBy = append(row.ReachedBy, t.Name)
		}
	}
	return row
}

// PlanResult is the plan as a report shows it, with a row for every stage
// of the Dockerfile (what `stagegate stages --format json` prints).
func PlanResult(plan *dockerfile.Plan) result.Plan {
	var res result.Result
	describePlan(&res, plan)
	res.File = plan.Graph.File
	res.Stages = make([]result.Stage, 0, len(plan.Graph.Stages))
	for _, st := range plan.Graph.Stages {
		res.Stages = append(res.Stages, Describe(plan, st))
	}
	return res.Plan()
}

// describePlan puts the plan's choices into the result: the target, the
// test stages and the candidates that were not picked, each with its reason.
func describePlan(res *result.Result, plan *dockerfile.Plan) {
	res.Target, res.TargetReason = plan.Target.Name, plan.TargetReason
	res.TestTargets = make([]result.TestTarget, 0, len(plan.Tests))
	for _, t := range plan.Tests {
		res.TestTargets = append(res.TestTargets, result.TestTarget{Name: t.Name, Reason: t.Reason, Mode: result.TestMode(t.Mode)})
	}
	res.Rejected = nil
	for _, c := range plan.Rejected {
		res.Rejected = append(res.Rejected, result.Candidate{Name: c.Name, Line: c.Line, Reason: c.Reason})
	}
	switch {
	case plan.TestsOff:
		res.NoTests = result.NoTestsOff
	case len(plan.Tests) == 0:
		res.NoTests = result.NoTestsFound
	}
}

// untested fails a run that requires tests and has no test stage, before
// anything is built, with the one-line fix naming option (how the user names
// the test targets). The failure points at the stage that came closest (the
// first candidate not picked), else at the Dockerfile's first line.
func untested(res *result.Result, plan *dockerfile.Plan, option string) {
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
}

func ptr[T any](v T) *T { return &v }

func outOrDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

func parsePlatform(s string) (ocispecs.Platform, error) { return platforms.Parse(s) }
