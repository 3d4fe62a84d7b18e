package build

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
)

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
			st, err := singleState(res)
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
		def, err := definitionOf(ctx, ref)
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

// singleState is the LLB state of a result's one reference, to build on.
func singleState(res *gateway.Result) (llb.State, error) {
	ref, err := res.SingleRef()
	if err != nil {
		return llb.State{}, err
	}
	return ref.ToState()
}

// definitionOf is the LLB definition a solved reference came with: the
// steps that made it, to read or to hand to another solve as an input.
func definitionOf(ctx context.Context, ref gateway.Reference) (*llb.Definition, error) {
	st, err := ref.ToState()
	if err != nil {
		return nil, err
	}
	return st.Marshal(ctx)
}
