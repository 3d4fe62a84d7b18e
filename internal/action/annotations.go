package action

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/stagegate/stagegate/internal/gate"
	"github.com/stagegate/stagegate/internal/github"
	"github.com/stagegate/stagegate/internal/report"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/text"
)

// Annotation levels, as the Checks API names them.
const (
	levelNotice  = "notice"
	levelWarning = "warning"
	levelFailure = "failure"
)

// phaseOf is the check a stage reports to: the test check when a test stage
// reaches it (it is built then), else the image check.
func phaseOf(res *result.Result, st *result.Stage) gate.Phase {
	for _, t := range st.ReachedBy {
		if slices.Contains(res.TestTargetNames(), t) {
			return gate.PhaseTest
		}
	}
	return gate.PhaseImage
}

// failurePhase is the check a failure belongs to. A failure before or
// outside the stages (no test stage found, no builder) goes to the test
// check, which it fails first.
func failurePhase(res *result.Result) gate.Phase {
	if res.TestPhaseFailed() || (res.Failure != nil && res.Failure.Target == "" && (len(res.TestTargets) > 0 || res.NoTests == result.NoTestsFound)) {
		return gate.PhaseTest
	}
	return gate.PhaseImage
}

// repoPath is a path relative to the repository root, with "/", as
// annotations need it. Relative paths are relative to the workspace already
// (the inputs are resolved against it, see ReadInputs); absolute ones inside
// it are made relative.
func repoPath(file, workspace string) string {
	if workspace != "" && filepath.IsAbs(file) {
		if rel, err := filepath.Rel(workspace, file); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			file = rel
		}
	}
	return strings.TrimPrefix(filepath.ToSlash(filepath.Clean(file)), "./")
}

// relativePaths names the files of a result relative to the workspace, as
// the repository does: the paths inside the action's container mean nothing
// to a reader of the summary or to a later step reading the report.
func relativePaths(res *result.Result, workspace string) {
	if workspace == "" {
		return
	}
	res.File = repoPath(res.File, workspace)
	res.Context = repoPath(res.Context, workspace)
	if res.Failure != nil { // may be &res.Failures[0]: repoPath keeps a relative path
		res.Failure.File = repoPath(res.Failure.File, workspace)
	}
	for i := range res.Failures {
		res.Failures[i].File = repoPath(res.Failures[i].File, workspace)
	}
	for i := range res.BuildChecks {
		res.BuildChecks[i].File = repoPath(res.BuildChecks[i].File, workspace)
	}
}

// annotations are a phase's annotations: the failure on the exact lines of
// the failing instruction, first, then a notice on each stage's FROM line.
// Failed tests from test reports are pinned to their source file (relative to
// the build context, which is under the workspace).
func annotations(res *result.Result, path, workspace string, phase gate.Phase) []github.Annotation {
	out := budgetAnnotations(res, path, phase)
	if f := res.Failure; f != nil && failurePhase(res) == phase {
		line, end := f.Line, f.EndLine
		if line < 1 {
			line, end = 1, 1
			if st := res.Stage(f.Stage); st != nil && st.Line > 0 {
				line, end = st.Line, st.Line
			}
		}
		title := "stagegate: the build failed"
		if f.Stage != "" {
			title = fmt.Sprintf("stage %s failed", f.Stage)
		}
		if f.ExitCode != nil {
			title += fmt.Sprintf(" (exit code %d)", *f.ExitCode)
		}
		out = append(out, github.Annotation{
			Path: path, StartLine: line, EndLine: max(end, line), Level: levelFailure,
			Title: title, Message: f.Message, RawDetails: strings.Join(f.LogTail, "\n"),
		})
	}
	// BuildKit's Dockerfile checks concern the whole file: the first check run.
	checksPhase := gate.PhaseImage
	if len(res.TestTargets) > 0 {
		checksPhase = gate.PhaseTest
	}
	for _, c := range res.BuildChecks {
		if phase != checksPhase {
			break
		}
		line := max(c.Line, 1)
		msg := c.Message
		if c.Description != "" {
			msg += "\n" + c.Description
		}
		if c.URL != "" {
			msg += "\n" + c.URL
		}
		out = append(out, github.Annotation{
			Path: path, StartLine: line, EndLine: max(c.EndLine, line), Level: levelWarning,
			Title: "Dockerfile check " + c.Rule, Message: msg,
		})
	}
	for i := range res.Stages {
		st := &res.Stages[i]
		if phaseOf(res, st) != phase || st.Tests == nil {
			continue
		}
		for _, tc := range st.Tests.Failed {
			an := github.Annotation{
				Path: path, StartLine: st.Line, EndLine: st.Line, Level: levelFailure,
				Title:   fmt.Sprintf("test %s failed (stage %s)", tc.Name, st.Name),
				Message: tc.Message,
			}
			if tc.File != "" && tc.Line > 0 && !filepath.IsAbs(tc.File) && !strings.HasPrefix(tc.File, "..") {
				an.Path, an.StartLine, an.EndLine = repoPath(filepath.Join(res.Context, tc.File), workspace), tc.Line, tc.Line
			}
			if an.Message == "" {
				an.Message = an.Title
			}
			out = append(out, an)
		}
	}
	for i := range res.Stages {
		st := &res.Stages[i]
		if phaseOf(res, st) != phase || st.Line < 1 {
			continue
		}
		out = append(out, github.Annotation{
			Path: path, StartLine: st.Line, EndLine: st.Line, Level: levelNotice,
			Title: fmt.Sprintf("stage %s: %s", st.Name, st.Status), Message: withDelta(stageLine(st), report.DeltaLine(res.Comparison, st.Name, st.Platform)),
		})
	}
	return out
}

// stageLine says in one line what a stage did.
func stageLine(st *result.Stage) string {
	parts := []string{string(st.Status)}
	if st.StartedAt != nil {
		parts[0] += " in " + text.HumanDuration(st.Duration)
	}
	if st.Steps > 0 {
		parts = append(parts, fmt.Sprintf("%d/%d steps cached", st.CachedSteps, st.Steps))
	}
	if st.Size != nil {
		size := text.HumanBytes(*st.Size)
		if st.CompressedSize != nil {
			size += fmt.Sprintf(" (%s compressed)", text.HumanBytes(*st.CompressedSize))
		}
		parts = append(parts, size)
	}
	return strings.Join(parts, " · ")
}

// withDelta adds a stage's change against the reference to its line.
func withDelta(line, delta string) string {
	if delta == "" {
		return line
	}
	return line + " · " + delta
}
