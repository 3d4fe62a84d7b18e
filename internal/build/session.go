package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/patternmatcher/ignorefile"
	digest "github.com/opencontainers/go-digest"
	"github.com/tonistiigi/fsutil"
)

// Request is one staged build.
type Request struct {
	// ContextDir is the build context; DockerfilePath the Dockerfile's path.
	ContextDir     string
	DockerfilePath string
	// Tests are the test stages, solved first and concurrently; Target is
	// solved last, when they pass (or always, without FailFast).
	Tests    []TestTarget
	Target   string
	FailFast bool
	// TestPlatforms are the platforms test stages are built and run for;
	// none means the builder's own, whatever Platforms says.
	TestPlatforms []string

	BuildArgs map[string]string
	Labels    map[string]string
	NoCache   bool
	Platforms []string
	// Exports receive the final target's result.
	Exports []client.ExportEntry
	// OnTarget, when set, is called before each target is solved. It may
	// be called from several goroutines at once. It stays a callback: like
	// the status channel, it only tells the caller how far the build got
	// (the action starts a check per phase as it begins), and nothing it
	// does changes what the build does next.
	OnTarget func(target string, test bool)

	// CacheImports and CacheExports are cache backends (buildx's cache-from
	// and cache-to); cache is exported by the main build only.
	CacheImports []client.CacheOptionsEntry
	CacheExports []client.CacheOptionsEntry
	// Session holds what the builder may ask the client for: registry
	// credentials, secrets, SSH agents.
	Session []session.Attachable
	// FrontendAttrs are further frontend options (named contexts, attestations).
	FrontendAttrs map[string]string
	// ExtraLocals are further local directories by name (named contexts).
	ExtraLocals map[string]string
	// TargetContexts are named contexts that are stages of the Dockerfile
	// (name -> frontend target).
	TargetContexts map[string]string
	// Attestations ("attest:provenance", "attest:sbom") for the final image:
	// BuildKit adds them to the build's result, so they are options of the
	// main build rather than of a frontend solve.
	Attestations map[string]string
	// StageExports, when set, says which stage images are exported beside
	// the build once the targets were solved (Outcome.StageExports).
	StageExports *StageExportPlan
}

// TestTarget is a test stage and how its tests run.
type TestTarget struct {
	// Target is the stage's frontend target name.
	Target string
	// Run: after building the stage, run its image's entrypoint and command
	// in a container inside BuildKit and take the exit code as the verdict.
	Run bool
	// Env is added to the image's environment for the run.
	Env []string
	// Network gives the run the host's network; without it, it has none.
	Network bool
	// Timeout bounds the run; zero means no bound.
	Timeout time.Duration
	// Reports are paths or globs (in the last path element) of test
	// reports to read from the stage's filesystem after it ran.
	Reports []string
	// Output receives the run's stdout and stderr.
	Output io.Writer
}

// frontendOpt is what the dockerfile frontend is asked to build, for the
// request's platforms.
func (r *Request) frontendOpt(target string) map[string]string {
	return r.frontendOptFor(target, r.Platforms)
}

// frontendOptFor is frontendOpt for the given platforms (none: the builder's).
func (r *Request) frontendOptFor(target string, platforms []string) map[string]string {
	opt := map[string]string{
		"filename": filepath.Base(r.DockerfilePath),
		"target":   target,
	}
	for k, v := range r.BuildArgs {
		opt["build-arg:"+k] = v
	}
	for k, v := range r.Labels {
		opt["label:"+k] = v
	}
	if r.NoCache {
		opt["no-cache"] = ""
	}
	if len(platforms) > 0 {
		opt["platform"] = strings.Join(platforms, ",")
	}
	for k, v := range r.FrontendAttrs {
		opt[k] = v
	}
	return opt
}

// Job is one staged build: every solve of the run (tests, final target,
// stage exports, checks) asks the frontend for the same build context input.
// The tests and the final target are solved inside one client.Build, so the
// context is transferred once for them and shared stages are built once.
type Job struct {
	b          *Builder
	req        Request
	locals     map[string]fsutil.FS
	contextDef *pb.Definition
	// names are the step names of the targets solved (stepNames).
	names stepNames
}

// NewJob prepares a build of req on b.
func (b *Builder) NewJob(ctx context.Context, req Request) (*Job, error) {
	contextFS, err := fsutil.NewFS(req.ContextDir)
	if err != nil {
		return nil, fmt.Errorf("open build context %s: %w", req.ContextDir, err)
	}
	dockerfileFS, err := fsutil.NewFS(filepath.Dir(req.DockerfilePath))
	if err != nil {
		return nil, fmt.Errorf("open Dockerfile directory: %w", err)
	}
	excludes, err := dockerignore(req.ContextDir, req.DockerfilePath)
	if err != nil {
		return nil, err
	}
	// No session ID: the source is read from whichever session runs the solve.
	st := llb.Local("context",
		llb.SharedKeyHint("context"),
		llb.ExcludePatterns(excludes),
		llb.WithCustomName("[internal] load build context"))
	def, err := st.Marshal(ctx)
	if err != nil {
		return nil, fmt.Errorf("define build context: %w", err)
	}
	locals := map[string]fsutil.FS{"context": contextFS, "dockerfile": dockerfileFS}
	for name, dir := range req.ExtraLocals {
		fs, err := fsutil.NewFS(dir)
		if err != nil {
			return nil, fmt.Errorf("open build context %q at %s: %w", name, dir, err)
		}
		locals[name] = fs
	}
	return &Job{b: b, req: req, locals: locals, contextDef: def.ToPB()}, nil
}

// dockerignore reads the exclude patterns BuildKit would apply: the
// Dockerfile's own <name>.dockerignore beside it, else the context's
// .dockerignore. (The frontend applies none when it is given the context.)
func dockerignore(contextDir, dockerfile string) ([]string, error) {
	for _, p := range []string{dockerfile + ".dockerignore", filepath.Join(contextDir, ".dockerignore")} {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		defer f.Close()
		patterns, err := ignorefile.ReadAll(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		return patterns, nil
	}
	return nil, nil
}

// solveOpt is a client.Build's options. The shared key lets BuildKit reuse
// its copy of the context from an earlier build and transfer only changes.
func (s *Job) solveOpt(exports []client.ExportEntry) client.SolveOpt {
	return client.SolveOpt{
		// Never nil: client.solve copies cache attributes into a clone of
		// it, and a clone of nil is nil (a panic with cache imports).
		FrontendAttrs: map[string]string{},
		Exports:       exports,
		LocalMounts:   s.locals,
		SharedKey:     sharedKey(s.req.ContextDir),
		CacheImports:  s.req.CacheImports,
		Session:       s.req.Session,
	}
}

// Outcome is what happened to the targets of a build.
type Outcome struct {
	// Tests are the test targets' outcomes, in the request's order.
	Tests []*TestOutcome
	// Response is the final target's exporter response.
	Response map[string]string
	// SolveFailed is set when a target's solve failed (not the export);
	// FailedTarget is that target.
	SolveFailed  bool
	FailedTarget string
	// Solved lists the targets that were solved successfully, in order.
	Solved []string
	// Err is the build's error, nil when every target passed.
	Err error
	// CacheErr is a failed cache export; it does not fail the build.
	CacheErr error
	// StageExports are the exports Request.StageExports planned.
	StageExports []*StageExport
	// StepNames are the names the solved targets' definitions give their
	// vertices, by digest: this Dockerfile's names, where the status stream
	// may have another build's (see stepNames).
	StepNames map[digest.Digest]string
}

// Build solves the test targets concurrently (evaluated, so lazy results
// cannot hide a failing step, and each run when asked), then the final
// target, in one client.Build. With FailFast the final target is not built
// when a test fails. Every status goes to statusCh, which is closed when the
// build ends. With Request.StageExports, the stage images it names for the
// targets solved are exported beside the build (Outcome.StageExports) before
// Build returns.
func (s *Job) Build(ctx context.Context, statusCh chan *client.SolveStatus) *Outcome {
	out := &Outcome{Tests: make([]*TestOutcome, len(s.req.Tests))}
	var testErr error
	opt := s.solveOpt(s.req.Exports)
	maps.Copy(opt.FrontendAttrs, s.req.Attestations)
	var cacheExports []client.CacheOptionsEntry
	for _, e := range s.req.CacheExports {
		if e.Type == "inline" {
			// Inline cache travels inside the exported image.
			opt.CacheExports = append(opt.CacheExports, e)
		} else {
			cacheExports = append(cacheExports, e)
		}
	}
	var beside *besideExports
	resp, err := s.b.Client.Build(ctx, opt, "stagegate", func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		res, terr, err := s.solveTargets(ctx, c, out)
		testErr = terr
		if s.req.StageExports != nil {
			// Started from here so that the main job is open while they solve.
			beside = s.startBeside(ctx, s.req.StageExports.Requests(out.Solved, err == nil))
		}
		return res, err
	}, statusCh)
	out.StageExports = beside.wait()
	out.StepNames = s.names.all()
	// Cache is exported also when a test failed (it speeds up the fix), but
	// not for a build that was stopped or whose builder is gone.
	if len(cacheExports) > 0 && len(out.Solved) > 0 && ctx.Err() == nil && !builderGone(err) {
		if cerr := s.exportCache(ctx, out.Solved, cacheExports); cerr != nil {
			out.CacheErr = cerr
		}
	}
	if err != nil {
		if testErr != nil && !builderGone(err) {
			err = testErr
		}
		out.Err = s.b.gone(err)
		return out
	}
	out.Response = maps.Clone(resp.ExporterResponse)
	return out
}

// solveTargets solves the test targets concurrently, then the final target,
// filling out. testErr is the first failed test's error; err is what the
// build function returns.
func (s *Job) solveTargets(ctx context.Context, c gateway.Client, out *Outcome) (res *gateway.Result, testErr, err error) {
	var wg sync.WaitGroup
	for i, t := range s.req.Tests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.req.OnTarget != nil {
				s.req.OnTarget(t.Target, true)
			}
			to := s.test(ctx, c, t)
			to.Err = s.b.gone(to.Err)
			out.Tests[i] = to
		}()
	}
	wg.Wait()
	for _, to := range out.Tests {
		if to.Err != nil {
			if testErr == nil {
				testErr = to.Err
				out.SolveFailed, out.FailedTarget = true, to.Target
			}
			continue
		}
		out.Solved = append(out.Solved, to.Target)
	}
	if testErr != nil && s.req.FailFast {
		return nil, testErr, testErr
	}
	if s.req.OnTarget != nil {
		s.req.OnTarget(s.req.Target, false)
	}
	res, err = s.solve(ctx, c, s.req.Target, s.req.Platforms)
	if err != nil {
		if testErr == nil {
			out.SolveFailed, out.FailedTarget = true, s.req.Target
		}
		return nil, testErr, err
	}
	s.names.add(ctx, res)
	out.Solved = append(out.Solved, s.req.Target)
	if testErr != nil {
		// Built to be reported, but never exported: an image whose
		// tests failed is not pushed or loaded.
		return nil, testErr, testErr
	}
	return res, nil, nil
}

// exportCache exports the cache of every solved target in one export: a
// cache export covers the result of one build only, and several exports to
// one ref would overwrite each other. The targets' results (all cached by
// now) are merged into one result, which adds no layer of its own.
func (s *Job) exportCache(ctx context.Context, targets []string, exports []client.CacheOptionsEntry) error {
	opt := s.solveOpt(nil)
	opt.CacheExports = exports
	_, err := s.b.Client.Build(ctx, opt, "stagegate", func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		var states []llb.State
		for _, t := range targets {
			platforms := s.req.Platforms
			if t != s.req.Target {
				platforms = s.req.TestPlatforms
			}
			res, err := s.solve(ctx, c, t, platforms)
			if err != nil {
				return nil, err
			}
			if len(targets) == 1 {
				return res, nil
			}
			ref, err := res.SingleRef()
			if err != nil {
				return nil, err
			}
			st, err := ref.ToState()
			if err != nil {
				return nil, err
			}
			states = append(states, st)
		}
		def, err := llb.Merge(states, llb.WithCustomName("[stagegate] cache of every target")).Marshal(ctx)
		if err != nil {
			return nil, err
		}
		return c.Solve(ctx, gateway.SolveRequest{Definition: def.ToPB()})
	}, nil)
	if err != nil {
		return fmt.Errorf("export cache: %w", err)
	}
	return nil
}

func (s *Job) solve(ctx context.Context, c gateway.Client, target string, platforms []string) (*gateway.Result, error) {
	return s.solveTarget(ctx, c, target, platforms, s.req.TargetContexts)
}

func (s *Job) solveTarget(ctx context.Context, c gateway.Client, target string, platforms []string, targetContexts map[string]string) (*gateway.Result, error) {
	opt := s.req.frontendOptFor(target, platforms)
	inputs := map[string]*pb.Definition{"context": s.contextDef}
	// Named contexts that are stages of the same Dockerfile ("target:STAGE",
	// as buildx bake has them) are solved first and given as inputs.
	for name, stage := range targetContexts {
		if stage == target {
			return nil, fmt.Errorf("build context %q is the stage %q being built", name, stage)
		}
		res, err := s.solveTarget(ctx, c, stage, platforms, nil)
		if err != nil {
			return nil, fmt.Errorf("build context %s=target:%s: %w", name, stage, err)
		}
		ref, err := res.SingleRef()
		if err != nil {
			return nil, err
		}
		st, err := ref.ToState()
		if err != nil {
			return nil, err
		}
		def, err := st.Marshal(ctx)
		if err != nil {
			return nil, err
		}
		key := "stagegate-target-" + name
		inputs[key] = def.ToPB()
		opt["context:"+name] = "input:" + key
	}
	res, err := c.Solve(ctx, gateway.SolveRequest{
		Frontend:       "dockerfile.v0",
		FrontendOpt:    opt,
		FrontendInputs: inputs,
		Evaluate:       true,
	})
	if err != nil {
		return nil, err
	}
	if res == nil {
		return nil, errors.New("the frontend returned no result")
	}
	return res, nil
}

// sharedKey names this machine's copy of a context directory.
func sharedKey(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	host, _ := os.Hostname()
	return digest.FromString(host + "\x00" + abs).Encoded()[:32]
}
