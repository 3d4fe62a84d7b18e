// Package report turns a result.Result into what people and programs read:
// the table printed at the end of a build, the JSON report, the GitHub step
// summary in Markdown and a Mermaid graph of the stages. It only formats; it
// never talks to BuildKit.
package report

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/text"
)

var errNilResult = errors.New("report: nil result")

// signedBytes is HumanBytes with an explicit "+" so a delta reads as one.
func signedBytes(n int64) string {
	if n > 0 {
		return "+" + text.HumanBytes(n)
	}
	return text.HumanBytes(n)
}

// capText shortens s to at most max bytes plus a note saying how much went,
// so a single runaway log line cannot crowd out everything else.
func capText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	kept := text.TruncateBytes(s, max)
	return kept + " … [" + text.HumanBytes(int64(len(s)-len(kept))) + " more]"
}

// ansiEscape matches terminal escape sequences: CSI (colours, cursor moves),
// OSC (titles, hyperlinks) and the two-byte ones.
var ansiEscape = regexp.MustCompile(`\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b\n]*(?:\x07|\x1b\\)?|[@-Z\\-_])`)

// clean makes text from a build (log lines, messages, names) safe to print:
// valid UTF-8, no escape sequences that could restyle or rewrite a terminal,
// no control characters except tab and newline. A carriage return inside a
// line is a progress bar redrawing itself; only what it last drew is kept,
// as a terminal would show it.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = ansiEscape.ReplaceAllString(s, "")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = strings.TrimRight(l, "\r")
		if j := strings.LastIndexByte(l, '\r'); j >= 0 {
			l = l[j+1:]
		}
		lines[i] = strings.Map(func(r rune) rune {
			if r == '\t' || !isControl(r) {
				return r
			}
			return -1
		}, l)
	}
	return strings.Join(lines, "\n")
}

// isControl reports C0 and C1 control characters; some terminals treat the
// C1 ones (U+0080–U+009F) as escape sequences too.
func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) }

// oneLine is clean for a single cell or span: line breaks and tabs become
// spaces so they cannot add rows or columns.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, clean(s))
}

// verdict is r.Result, falling back on what r says when it was not set.
func verdict(r *result.Result) string {
	switch {
	case r.Result != "":
		return string(r.Result)
	case r.Failure != nil || r.Error != "":
		return string(result.Failed)
	}
	return "unknown"
}

// targetStage is the stage built as the final target, if it is in r.
func targetStage(r *result.Result) *result.Stage {
	for i := range r.Stages {
		if r.Stages[i].HasRole(result.RoleTarget) {
			return &r.Stages[i]
		}
	}
	if r.Target != "" {
		return r.Stage(r.Target)
	}
	return nil
}

// location is "Dockerfile:12-13", "Dockerfile:12" or just the file when the
// failure has no line.
func location(r *result.Result, f *result.Failure) string {
	file := f.File
	if file == "" {
		file = r.File
	}
	if file == "" {
		file = "Dockerfile"
	}
	return file + lineRange(f.Line, f.EndLine, ":")
}

// lineRange is sep+"12-13", sep+"12", or "" when there is no line.
func lineRange(line, end int, sep string) string {
	switch {
	case line <= 0:
		return ""
	case end > line:
		return fmt.Sprintf("%s%d-%d", sep, line, end)
	}
	return fmt.Sprintf("%s%d", sep, line)
}

func roleList(roles []result.Role) string {
	if len(roles) == 0 {
		return "-"
	}
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

// stageTime is "-" for a stage that never ran rather than a misleading "0.0s".
func stageTime(st *result.Stage) string {
	if st.Status == result.StatusSkipped || (st.Status == result.StatusCancelled && st.StartedAt == nil) {
		return "-" // never started
	}
	return text.HumanDuration(st.Duration)
}

func cachedSteps(st *result.Stage) string {
	if st.Steps == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d", st.CachedSteps, st.Steps)
}

func optBytes(n *int64) string {
	if n == nil {
		return "-"
	}
	return text.HumanBytes(*n)
}

func optDelta(n *int64) string {
	if n == nil {
		return "-"
	}
	return signedBytes(*n)
}
