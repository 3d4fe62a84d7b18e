// Package gate runs stagegate's pipeline: analyse the Dockerfile, build the
// test stages then the final stage in one BuildKit session, measure every
// built stage, and return one result.Result for the reporters.
package gate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/util/progress/progressui"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stagegate/stagegate/internal/assemble"
	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/progress"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/testreport"
)

// Config is one run's configuration, from flags or action inputs.
type Config struct {
	ContextDir string
	File       string // the Dockerfile; ContextDir/Dockerfile when empty
	// ContextExcludes are paths of the context (.dockerignore patterns) the
	// build never sees: the action's report folder, which a later step's
	// build of the same context would otherwise copy.
	ContextExcludes []string
	Target          string
	TestTargets     []string
	BuildArgs       map[string]string
	Labels          map[string]string
	NoCache         bool
	Platforms       []string
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
	// The scripts test stages run are read from the context, and from
	// nowhere else: os.Root follows no link out of it.
	if root, err := os.OpenRoot(cfg.ContextDir); err == nil {
		defer root.Close()
		opts.Context = root.FS()
	}
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
		var planErr *dockerfile.PlanError
		if errors.As(err, &planErr) {
			return nil, &UsageError{Option: planFlag(planErr.Option), Err: err}
		}
		return nil, &UsageError{Err: err}
	}
	return plan, nil
}

// planFlag is the CLI's flag that sets a plan option.
func planFlag(o dockerfile.PlanOption) string {
	switch o {
	case dockerfile.PlanTarget:
		return "target"
	case dockerfile.PlanTestPatterns:
		return "test-target"
	}
	return ""
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
	return assemble.DockerfileFailure(cfg.DockerfilePath(), cfg.ContextDir, time.Now().UTC(), dfErr)
}

// Execute builds and measures what the plan says; it returns a result
// whenever the configuration was usable, also when the build failed (the
// error is then nil and the result says "failed"). The error is non-nil for
// a UsageError or when no builder could be reached.
func Execute(ctx context.Context, cfg *Config, plan *dockerfile.Plan) (*result.Result, error) {
	started := time.Now()
	if err := checkPlan(cfg, plan); err != nil {
		return nil, err
	}
	run := assemble.Run{File: cfg.DockerfilePath(), Context: cfg.ContextDir, StartedAt: started.UTC()}
	if len(plan.Tests) == 0 && !plan.TestsOff && cfg.RequireTests {
		res := assemble.Untested(plan, run, cfg.option("test-target"))
		res.Duration = time.Since(started).Seconds()
		return res, nil
	}
	if err := checkPushCredentials(cfg); err != nil {
		return nil, err
	}
	b, err := build.Connect(ctx, cfg.Connect)
	if err != nil {
		return nil, err
	}
	defer b.Close()

	redactor := cfg.redactor()
	testOut := redactor.Writer(outOrDiscard(cfg.Out))
	defer testOut.Close()
	progressOut := redactor.Writer(outOrDiscard(cfg.Out))
	defer progressOut.Close()
	bt, err := runBuild(ctx, cfg, plan, b, testOut, progressOut)
	if err != nil {
		return nil, err
	}
	res := assemble.Result(plan, bt.report(ctx, cfg, plan, b, run))
	if !cfg.SkipSizes {
		measureSizes(ctx, cfg, plan, b, bt.features, bt.job, res, bt.outcome)
	}
	redactResult(redactor, res)
	res.Duration = time.Since(started).Seconds()
	return res, nil
}

// checkPlan fails, before anything is built, a plan that cannot be built
// where the configuration says: no context folder, or a base image that
// does not expand.
func checkPlan(cfg *Config, plan *dockerfile.Plan) error {
	if st, err := os.Stat(cfg.ContextDir); err != nil || !st.IsDir() {
		return optionErrorf("context", "build context %q is not a directory", cfg.ContextDir)
	}
	for _, st := range plan.Stages {
		if st.BaseError != "" {
			return &UsageError{Option: "build-arg", Err: fmt.Errorf("%s:%d: %s", plan.Graph.File, st.Line, st.BaseError)}
		}
	}
	return nil
}

// built is what a build left behind: the job, whose images are measured
// after it, the status stream's figures and the build's outcome.
type built struct {
	features build.Features
	job      *build.Job
	tracker  *progress.Tracker
	outcome  *build.Outcome
	// displayErr is the progress display's error, if any.
	displayErr error
}

// runBuild builds the plan on b: the test stages then the final target, in
// one job, showing its progress on progressOut (test runs print to testOut),
// within the configured timeout, and pushes the image through the Docker
// Engine when its builder cannot. A failed build is in the outcome; the
// error is for a build that could not start.
func runBuild(ctx context.Context, cfg *Config, plan *dockerfile.Plan, b *build.Builder, testOut, progressOut io.Writer) (*built, error) {
	g := plan.Graph
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
	mode := cmp.Or(cfg.Progress, progressui.AutoMode)
	display, err := progressui.NewDisplay(progressOut, mode)
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
	displayErr := waitDisplay()
	tracker.UseNames(outcome.StepNames)
	return &built{features: features, job: job, tracker: tracker, outcome: outcome, displayErr: displayErr}, nil
}

// report is what the build reported, as the result is assembled from: run
// (where and when) completed with the stages' figures, the failures pinned
// to their steps, the test stages' outcomes and the final image, which is
// looked up in the Docker Engine it was loaded into.
func (bt *built) report(ctx context.Context, cfg *Config, plan *dockerfile.Plan, b *build.Builder, run assemble.Run) assemble.Run {
	g, out := plan.Graph, bt.outcome
	run.Builder = b.Address
	run.TestReports, run.RequireTests = cfg.TestReports, cfg.RequireTests
	run.GoModule = goModule(cfg.ContextDir)
	for _, name := range out.Solved {
		run.Solved = append(run.Solved, g.TargetStage(name))
	}
	run.Stats = bt.tracker.Stages()
	if len(cfg.Platforms) > 1 {
		run.PlatformStats = bt.tracker.PlatformStages(platforms.DefaultString())
	}
	run.Failures = failures(g, bt.tracker, out, run.File)
	run.Tests = map[string]*build.TestOutcome{}
	for _, to := range out.Tests {
		if to != nil {
			run.Tests[g.TargetStage(to.Target).Name] = to
		}
	}
	run.Checks = bt.tracker.Warnings()

	if bt.displayErr != nil && out.Err == nil {
		run.Warnings = append(run.Warnings, fmt.Sprintf("progress display: %v", bt.displayErr))
	}
	if out.Response != nil {
		run.Image = imageResult(cfg, out.Response)
		if cfg.Load && bt.features.Load != build.NoLoad && len(cfg.Tags) > 0 {
			if id, err := loadedImageID(ctx, b.Driver, cfg.Tags[0]); err == nil {
				run.Image.ImageID = id
			} else {
				run.Warnings = append(run.Warnings, err.Error())
			}
		}
	}
	if out.CacheErr != nil {
		run.Warnings = append(run.Warnings, build.Explain(out.CacheErr).Error())
	}
	if ctx.Err() != nil && out.Err != nil {
		run.Interrupted = message(out.Err)
	}
	var timeout *TimeoutError
	run.TimedOut = errors.As(out.Err, &timeout)
	return run
}

// goModule is the Go module path of the build context, "" when it is none:
// test reports name Go files by package path, resolved against it.
func goModule(contextDir string) string {
	gomod, err := os.ReadFile(filepath.Join(contextDir, "go.mod"))
	if err != nil {
		return ""
	}
	return testreport.ModulePath(gomod)
}

// frontendTarget is the name the dockerfile frontend knows a stage by (see
// dockerfile.Graph.FrontendTarget), or a UsageError for a stage it cannot
// build on its own.
func frontendTarget(g *dockerfile.Graph, st *dockerfile.Stage) (string, error) {
	if target, ok := g.FrontendTarget(st); ok {
		return target, nil
	}
	return "", usageErrorf("stage %d (line %d) has no name, and BuildKit builds only named stages or the last one: name it with \"FROM %s AS <name>\"", st.Index, st.Line, st.BaseRaw)
}

func ptr[T any](v T) *T { return &v }

func outOrDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

func parsePlatform(s string) (ocispecs.Platform, error) { return platforms.Parse(s) }
