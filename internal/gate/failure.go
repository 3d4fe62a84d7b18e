package gate

import (
	"errors"
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

// failure pins a failed build to its step: the stage, the Dockerfile lines
// of the failing instruction (errdefs.Sources), the exit code and the step's
// last lines of output.
func failure(g *dockerfile.Graph, tr *progress.Tracker, out *build.Outcome, file string) *result.Failure {
	err := out.Err
	f := &result.Failure{File: file, Message: message(err), LogTail: []string{}}
	if out.SolveFailed {
		f.Stage = stageOf(g, out.FailedTarget).Name
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
	if errors.As(err, &exit) {
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
	// The failing line says which stage failed more surely than the target.
	if f.Line > 0 {
		for _, st := range g.Stages {
			if f.Line >= st.Line && f.Line <= st.EndLine {
				f.Stage = st.Name
			}
		}
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
	err = grpcerrors.FromGRPC(err)
	msg := build.Explain(err).Error()
	msg = strings.TrimPrefix(msg, "failed to solve: ")
	return msg
}
