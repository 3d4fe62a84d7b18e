package report

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/text"
)

// Table prints the summary shown at the end of a build: one row per stage,
// the verdict, and where and why the build failed.
func Table(w io.Writer, r *result.Result) error {
	if r == nil {
		return errNilResult
	}
	// Render into memory first so a failing writer leaves no half table and
	// only one error needs checking.
	var b bytes.Buffer
	if len(r.Stages) == 0 {
		b.WriteString("No stage was built.\n")
	} else {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		// A platform column only when the run built several platforms.
		multi := hasPlatforms(r)
		platform := func(st *result.Stage) string {
			if !multi {
				return ""
			}
			return oneLine(orDash(st.Platform)) + "\t"
		}
		header := "STAGE\t"
		if multi {
			header += "PLATFORM\t"
		}
		fmt.Fprintln(tw, header+"ROLE\tSTATUS\tTIME\tCACHED\tSIZE\tΔ BASE")
		for i := range r.Stages {
			st := &r.Stages[i]
			fmt.Fprintf(tw, "%s\t%s%s\t%s\t%s\t%s\t%s\t%s\n",
				oneLine(st.Name), platform(st), oneLine(roleList(st.Roles)), oneLine(string(st.Status)),
				stageTime(st), cachedSteps(st), optBytes(st.Size), optDelta(st.BaseDelta))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	b.WriteString("\n" + verdictLine(r) + "\n")
	if r.Comparison != nil {
		b.WriteString("\n")
		if err := DeltaTable(&b, r.Comparison); err != nil {
			return err
		}
	}

	if f := r.Failure; f != nil {
		writeFailure(&b, r, f)
	} else if r.Error != "" && r.Result != result.Cancelled {
		// A cancelled run's error only says why it was interrupted, which
		// the verdict line says.
		b.WriteString("error: " + indent(clean(r.Error), "  ") + "\n")
	}
	for _, warning := range r.Warnings {
		b.WriteString("warning: " + indent(clean(warning), "  ") + "\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}

// verdictLine is e.g. `Result: PASSED in 12.3s (target "app", tests "test")`.
func verdictLine(r *result.Result) string {
	var what []string
	if r.Target != "" {
		what = append(what, "target "+strconv.Quote(r.Target))
	}
	if len(r.TestTargets) > 0 {
		q := make([]string, len(r.TestTargets))
		for i, t := range r.TestTargets {
			q[i] = strconv.Quote(t.Name)
		}
		what = append(what, "tests "+strings.Join(q, ", "))
	}
	line := "Result: " + strings.ToUpper(oneLine(verdict(r))) + " in " + text.HumanDuration(r.Duration)
	if len(what) > 0 {
		line += " (" + strings.Join(what, ", ") + ")"
	}
	if why, ok := strings.CutPrefix(r.Error, "cancelled: "); ok && r.Result == result.Cancelled {
		line += ": " + oneLine(why) // "received interrupt"
	}
	return line
}

// writeFailure prints the block that answers "what do I fix": the stage and
// Dockerfile lines, the exit code, the error and the last lines of output.
func writeFailure(b *bytes.Buffer, r *result.Result, f *result.Failure) {
	b.WriteString("\nFAILED:")
	if f.Stage != "" {
		b.WriteString(" stage " + strconv.Quote(f.Stage))
	}
	b.WriteString(" at " + oneLine(location(r, f)))
	if f.ExitCode != nil {
		fmt.Fprintf(b, " (exit code %d)", *f.ExitCode)
	}
	b.WriteString("\n")
	if f.Step != "" {
		b.WriteString("  step: " + oneLine(f.Step) + "\n")
	}
	if f.Message != "" {
		b.WriteString("  " + indent(clean(f.Message), "  ") + "\n")
	}
	if len(f.LogTail) > 0 {
		fmt.Fprintf(b, "  last %d log lines:\n", len(f.LogTail))
		for _, l := range f.LogTail {
			b.WriteString("    " + indent(clean(l), "    ") + "\n")
		}
	}
}

// indent indents every line of s after the first by prefix, so multi-line
// text stays inside the block it belongs to.
func indent(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// StagesTable lists a Dockerfile's stages for `stagegate stages`.
func StagesTable(w io.Writer, stages []result.Stage) error {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tNAME\tBASE\tLINES\tDEPENDS ON\tROLES")
	for i := range stages {
		st := &stages[i]
		lines := lineRange(st.Line, st.EndLine, "")
		if lines == "" {
			lines = "-"
		}
		deps := "-"
		if len(st.DependsOn) > 0 {
			deps = strings.Join(st.DependsOn, ",")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n",
			st.Index, oneLine(st.Name), oneLine(st.Base), lines, oneLine(deps), oneLine(roleList(st.Roles)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// hasPlatforms reports whether the result has per-platform rows.
func hasPlatforms(r *result.Result) bool {
	for i := range r.Stages {
		if r.Stages[i].Platform != "" {
			return true
		}
	}
	return false
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
