package gate

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/result"
)

// runsTests decides whether a test stage's command is run: always in run
// mode, never in build mode, and in auto mode when the stage itself sets CMD
// or ENTRYPOINT (an inherited one, like busybox's "sh", is no test).
func runsTests(mode TestMode, st *dockerfile.Stage) bool {
	switch mode {
	case TestModeRun:
		return true
	case TestModeBuild:
		return false
	}
	return st.SetsCmd || st.SetsEntrypoint
}

// testResults records on each test stage how its tests ran and what their
// reports say.
func testResults(g *dockerfile.Graph, cfg *Config, res *result.Result, out *build.Outcome) {
	byTarget := map[string]*build.TestOutcome{}
	for _, to := range out.Tests {
		if to != nil {
			byTarget[stageOf(g, to.Target).Name] = to
		}
	}
	for i := range res.Stages {
		row := &res.Stages[i]
		if !row.HasRole(result.RoleTest) {
			continue
		}
		st := g.Stages[row.Index]
		tr := &result.TestResults{Mode: result.TestModeBuild}
		row.Tests = tr
		to := byTarget[st.Name]
		if to != nil && to.Run != nil {
			tr.Mode = result.TestModeRun
			tr.Command = to.Run.Args
			code := to.Run.ExitCode
			tr.ExitCode = &code
		}
		switch {
		case tr.Mode == result.TestModeBuild && st.Runs == 0 && (st.SetsCmd || st.SetsEntrypoint):
			tr.NotRun = "test-mode is build and the stage's tests are its CMD/ENTRYPOINT, which was not run: no test ran (use test-mode run or auto)"
			res.Warnings = append(res.Warnings, "stage "+st.Name+": "+tr.NotRun)
		case tr.Mode == result.TestModeBuild && st.Runs == 0:
			tr.NotRun = "the stage has no RUN step and no CMD/ENTRYPOINT: it runs no tests"
			res.Warnings = append(res.Warnings, "stage "+st.Name+": "+tr.NotRun)
		}
		if to == nil {
			continue
		}
		tr.Warnings = append(tr.Warnings, to.ReportErrors...)
		addReports(tr, to.Reports, cfg.ContextDir)
		res.Warnings = append(res.Warnings, prefixed("stage "+st.Name+": ", tr.Warnings)...)
		if len(tr.Failed) > 0 && row.Status != result.StatusFailed {
			// The command passed (e.g. "|| true" to keep the reports), but
			// the reports say tests failed: so did the stage.
			row.Status = result.StatusFailed
			line := st.CmdLine
			if tr.Mode == result.TestModeBuild || line == 0 {
				line = st.EndLine
			}
			res.Failures = append(res.Failures, result.Failure{
				Stage: st.Name, Target: st.Name, File: res.File, Line: line, EndLine: line,
				Message: fmt.Sprintf("%d test(s) failed according to the test reports: %s", len(tr.Failed), failedNames(tr.Failed)),
				LogTail: []string{},
			})
		}
	}
	if len(res.Failures) > 0 {
		res.Result = result.Failed
		res.Failure = &res.Failures[0]
		res.Error = res.Failure.Message
	}
}

func failedNames(cases []result.TestCase) string {
	var names []string
	for i, c := range cases {
		if i == 5 {
			names = append(names, fmt.Sprintf("and %d more", len(cases)-5))
			break
		}
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

func prefixed(p string, list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = p + s
	}
	return out
}

// prefixWriter writes each line with a prefix, so the output of concurrent
// test runs stays readable in one log.
type prefixWriter struct {
	mu      sync.Mutex
	w       io.Writer
	prefix  string
	partial []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.partial = append(p.partial, b...)
			if len(p.partial) < 64<<10 {
				return n, nil
			}
			// Flush a very long line in pieces: memory stays bounded.
			line := append(append([]byte(p.prefix), p.partial...), '\n')
			p.partial = p.partial[:0]
			_, err := p.w.Write(line)
			return n, err
		}
		line := append(append([]byte(p.prefix), p.partial...), b[:i+1]...)
		p.partial = p.partial[:0]
		if _, err := p.w.Write(line); err != nil {
			return n, err
		}
		b = b[i+1:]
	}
	return n, nil
}
