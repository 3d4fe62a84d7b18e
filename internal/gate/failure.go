package gate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gatewaypb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/util/grpcerrors"
	digest "github.com/opencontainers/go-digest"
	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/progress"
	"github.com/stagegate/stagegate/internal/result"
)

// excerptContext is how many lines around a failing instruction an excerpt shows.
const excerptContext = 2

// failures lists what failed: every failed test stage, in order, then the
// build's own error when it is another one (the final target, the export).
func failures(g *dockerfile.Graph, tr *progress.Tracker, out *build.Outcome, file string) []result.Failure {
	var fs []result.Failure
	if stoppedEarly(out.Err) {
		// The builder went away, the run timed out or was cancelled: one
		// failure says so, whatever each target saw.
		return []result.Failure{pin(g, tr, out.Err, nil, file)}
	}
	for _, to := range out.Tests {
		if to == nil || to.Err == nil {
			continue
		}
		f := pin(g, tr, to.Err, g.TargetStage(to.Target), file)
		if run := to.Run; run != nil && errors.As(to.Err, new(*build.RunError)) {
			f.Step = fmt.Sprintf("test command %q", run.Args)
			f.LogTail = append([]string{}, run.Tail...)
		}
		fs = append(fs, f)
	}
	if out.Err != nil && !isTestError(out) {
		var target *dockerfile.Stage
		if out.SolveFailed {
			target = g.TargetStage(out.FailedTarget)
		}
		fs = append(fs, pin(g, tr, out.Err, target, file))
	}
	return fs
}

// stoppedEarly reports whether the build was stopped from outside.
func stoppedEarly(err error) bool {
	var gone *build.GoneError
	var timeout *TimeoutError
	var cancelled *CancelledError
	return errors.As(err, &gone) || errors.As(err, &timeout) || errors.As(err, &cancelled) || errors.Is(err, context.Canceled)
}

func isTestError(out *build.Outcome) bool {
	for _, to := range out.Tests {
		if to != nil && to.Err != nil && to.Err == out.Err {
			return true
		}
	}
	return false
}

// pin pins an error to its step: the stage, the Dockerfile lines of the
// failing instruction (errdefs.Sources), the exit code and the step's last
// lines of output. target is the target being built, nil when unknown.
func pin(g *dockerfile.Graph, tr *progress.Tracker, err error, target *dockerfile.Stage, file string) result.Failure {
	f := result.Failure{File: file, Message: message(err), LogTail: []string{}}
	if target != nil {
		f.Stage, f.Target = target.Name, target.Name
	}
	for _, src := range errdefs.Sources(err) {
		if len(src.Ranges) == 0 {
			continue
		}
		f.Line = int(src.Ranges[0].Start.Line)
		f.EndLine = int(src.Ranges[len(src.Ranges)-1].End.Line)
		break
	}
	var exit *gatewaypb.ExitError
	var runErr *build.RunError
	ranTests := errors.As(err, &runErr)
	switch {
	case ranTests:
		f.ExitCode = &runErr.ExitCode
		if target != nil {
			// The tests are the stage's CMD/ENTRYPOINT (perhaps inherited):
			// point at it.
			f.Line = target.CommandLine()
			if f.Line == 0 {
				f.Line = target.Line
			}
			f.EndLine = f.Line
		}
	case errors.As(err, &exit):
		code := int(exit.ExitCode)
		f.ExitCode = &code
	}
	var verr *errdefs.VertexError
	if errors.As(err, &verr) && verr.Vertex != nil {
		d := digest.Digest(verr.Vertex.Digest)
		if step := tr.Step(d); step != nil {
			f.Step = step.Name
			f.LogTail = append(f.LogTail, step.LogTail...)
		}
		if stage := tr.StageOf(d); stage != "" {
			f.Stage = stage
		}
	}
	if f.Line > 0 {
		if !ranTests {
			// The failing line says which stage failed more surely than
			// the target. A test command's line does not: the stage may
			// have inherited the command from the stage it is built on.
			for _, st := range g.Stages {
				if f.Line >= st.Line && f.Line <= st.EndLine {
					f.Stage = st.Name
				}
			}
		}
		f.EndLine = max(f.EndLine, f.Line)
		for i, text := range g.Lines(f.Line-excerptContext, f.EndLine+excerptContext) {
			n := max(f.Line-excerptContext, 1) + i
			f.Excerpt = append(f.Excerpt, result.ExcerptLine{Line: n, Text: text, Failing: n >= f.Line && n <= f.EndLine})
		}
	}
	return f
}

// message is the error as a user should read it: BuildKit's own words,
// without gRPC framing or the stack of wrappers.
func message(err error) string {
	var gone *build.GoneError
	var timeout *TimeoutError
	var cancelled *CancelledError
	switch {
	case errors.As(err, &gone):
		return gone.Error()
	case errors.As(err, &timeout):
		return timeout.Error()
	case errors.As(err, &cancelled):
		return cancelled.Error()
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	err = grpcerrors.FromGRPC(err)
	msg := build.Explain(err).Error()
	msg = strings.TrimPrefix(msg, "failed to solve: ")
	return msg
}
