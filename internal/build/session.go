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
	"github.com/moby/buildkit/session/filesync"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/patternmatcher/ignorefile"
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

	BuildArgs map[string]string
	Labels    map[string]string
	NoCache   bool
	Platforms []string
	// Exports receive the final target's result.
	Exports []client.ExportEntry
	// OnTarget, when set, is called before each target is solved. It may
	// be called from several goroutines at once.
	OnTarget func(target string, test bool)
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

// frontendOpt is what the dockerfile frontend is asked to build.
func (r *Request) frontendOpt(target string) map[string]string {
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
	if len(r.Platforms) > 0 {
		opt["platform"] = strings.Join(r.Platforms, ",")
	}
	return opt
}

// Session is one BuildKit session: the build context is offered once and
// every solve of the run (tests, final target, stage exports) shares it.
type Session struct {
	b    *Builder
	req  Request
	s    *session.Session
	done chan error
	// contextDef is the build context as one LLB source, given to every solve
	// as the frontend's "context" input: the solves share one transfer of the
	// context and so the same step digests, and shared stages run once.
	contextDef *pb.Definition
}

// NewSession opens a session that offers the request's context and Dockerfile.
func (b *Builder) NewSession(ctx context.Context, req Request) (*Session, error) {
	contextFS, err := fsutil.NewFS(req.ContextDir)
	if err != nil {
		return nil, fmt.Errorf("open build context %s: %w", req.ContextDir, err)
	}
	dockerfileFS, err := fsutil.NewFS(filepath.Dir(req.DockerfilePath))
	if err != nil {
		return nil, fmt.Errorf("open Dockerfile directory: %w", err)
	}
	s, err := session.NewSession(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	s.Allow(filesync.NewFSSyncProvider(filesync.StaticDirSource{
		"context":    contextFS,
		"dockerfile": dockerfileFS,
	}))
	excludes, err := dockerignore(req.ContextDir, req.DockerfilePath)
	if err != nil {
		return nil, err
	}
	st := llb.Local("context",
		llb.SessionID(s.ID()),
		llb.SharedKeyHint("context"),
		llb.ExcludePatterns(excludes),
		llb.WithCustomName("[internal] load build context"))
	def, err := st.Marshal(ctx)
	if err != nil {
		return nil, fmt.Errorf("define build context: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.WithoutCancel(ctx), b.Client.Dialer()) }()
	return &Session{b: b, req: req, s: s, done: done, contextDef: def.ToPB()}, nil
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

// Close ends the session.
func (s *Session) Close() error {
	err := s.s.Close()
	<-s.done
	return err
}

func (s *Session) solveOpt(exports []client.ExportEntry) client.SolveOpt {
	return client.SolveOpt{
		Exports:               exports,
		SharedSession:         s.s,
		SessionPreInitialized: true,
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
}

// Build solves the test targets concurrently (evaluated, so lazy results
// cannot hide a failing step, and each run when asked), then the final
// target, in one client.Build. With FailFast the final target is not built
// when a test fails. Every status goes to statusCh, which is closed when the
// build ends.
func (s *Session) Build(ctx context.Context, statusCh chan *client.SolveStatus) *Outcome {
	out := &Outcome{Tests: make([]*TestOutcome, len(s.req.Tests))}
	var testErr error
	resp, err := s.b.Client.Build(ctx, s.solveOpt(s.req.Exports), "stagegate", func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		var wg sync.WaitGroup
		for i, t := range s.req.Tests {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if s.req.OnTarget != nil {
					s.req.OnTarget(t.Target, true)
				}
				out.Tests[i] = s.test(ctx, c, t)
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
			return nil, testErr
		}
		if s.req.OnTarget != nil {
			s.req.OnTarget(s.req.Target, false)
		}
		res, err := s.solve(ctx, c, s.req.Target)
		if err != nil {
			if testErr == nil {
				out.SolveFailed, out.FailedTarget = true, s.req.Target
			}
			return nil, err
		}
		out.Solved = append(out.Solved, s.req.Target)
		return res, nil
	}, statusCh)
	switch {
	case err != nil && testErr != nil && !s.req.FailFast:
		// Both the tests and the final target failed: report the test.
		out.Err = testErr
	case err != nil:
		out.Err = err
	default:
		out.Response = maps.Clone(resp.ExporterResponse)
		out.Err = testErr
	}
	return out
}

func (s *Session) solve(ctx context.Context, c gateway.Client, target string) (*gateway.Result, error) {
	res, err := c.Solve(ctx, gateway.SolveRequest{
		Frontend:       "dockerfile.v0",
		FrontendOpt:    s.req.frontendOpt(target),
		FrontendInputs: map[string]*pb.Definition{"context": s.contextDef},
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

// ExportStage builds one stage again (it is cached by then) and exports it as
// an unnamed image: the image lands in BuildKit's content store only, so no
// stage image is left in any image store. It returns the exporter response.
func (s *Session) ExportStage(ctx context.Context, stage string, exports []client.ExportEntry) (map[string]string, error) {
	resp, err := s.b.Client.Build(ctx, s.solveOpt(exports), "stagegate", func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		return s.solve(ctx, c, stage)
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("export stage %q: %w", stage, err)
	}
	return resp.ExporterResponse, nil
}
