package build

import (
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session"
)

// Request is one staged build.
type Request struct {
	// ContextDir is the build context; DockerfilePath the Dockerfile's path.
	ContextDir     string
	DockerfilePath string
	// ContextExcludes are left out of the context besides what its
	// .dockerignore leaves out: what stagegate itself writes there.
	ContextExcludes []string
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
