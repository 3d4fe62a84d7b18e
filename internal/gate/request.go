package gate

import (
	"context"
	"io"
	"sync"

	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/syncio"
)

// newRequest is what the builder is asked to do for a plan: the targets as
// the frontend names them, how each test stage tests, the exports, caches,
// credentials and contexts, checked against what the builder can do.
// testOut receives the output of test runs.
func newRequest(ctx context.Context, cfg *Config, g *dockerfile.Graph, plan *dockerfile.Plan, b *build.Builder, features build.Features, testOut io.Writer) (build.Request, error) {
	target, err := frontendTarget(g, plan.Target)
	if err != nil {
		return build.Request{}, err
	}
	if err := checkFeatures(cfg, b.Address, features); err != nil {
		return build.Request{}, err
	}
	exports, err := finalExports(ctx, cfg, b, features)
	if err != nil {
		return build.Request{}, err
	}
	req := build.Request{
		ContextDir:      cfg.ContextDir,
		DockerfilePath:  cfg.DockerfilePath(),
		ContextExcludes: cfg.ContextExcludes,
		Target:          target,
		BuildArgs:       cfg.BuildArgs,
		Labels:          cfg.Labels,
		NoCache:         cfg.NoCache,
		Platforms:       cfg.Platforms,
		TestPlatforms:   cfg.TestPlatforms,
		FailFast:        !cfg.NoFailFast,
		Exports:         exports,
		CacheImports:    cfg.CacheFrom,
		CacheExports:    cfg.CacheTo,
		FrontendAttrs:   map[string]string{},
		ExtraLocals:     map[string]string{},
	}
	if err := addSessionAndContexts(cfg, &req); err != nil {
		return build.Request{}, err
	}
	if cfg.OnPhase != nil {
		// Test stages start concurrently: the test phase starts once.
		var testPhase sync.Once
		req.OnTarget = func(_ string, test bool) {
			if test {
				testPhase.Do(func() { cfg.OnPhase(PhaseTest) })
				return
			}
			cfg.OnPhase(PhaseImage)
		}
	}
	for _, t := range plan.Tests {
		// A test stage that is also the target and tests by being built is
		// built once, as the target; one whose command is its test runs it.
		if t.Stage == plan.Target && t.Mode != dockerfile.TestModeRun {
			continue
		}
		name, err := frontendTarget(g, t.Stage)
		if err != nil {
			return build.Request{}, err
		}
		req.Tests = append(req.Tests, build.TestTarget{
			Target:  name,
			Run:     t.Mode == dockerfile.TestModeRun,
			Env:     cfg.TestEnv,
			Network: cfg.TestNetwork,
			Timeout: cfg.TestTimeout,
			Reports: cfg.TestReports,
			Output:  syncio.New(&prefixWriter{w: testOut, prefix: "[test " + t.Name + "] "}),
		})
	}
	return req, nil
}
