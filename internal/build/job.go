package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/patternmatcher/ignorefile"
	digest "github.com/opencontainers/go-digest"
	"github.com/tonistiigi/fsutil"
)

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
	excludes = append(excludes, req.ContextExcludes...)
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

// sharedKey names this machine's copy of a context directory.
func sharedKey(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	host, _ := os.Hostname()
	return digest.FromString(host + "\x00" + abs).Encoded()[:32]
}
