package report

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/template"

	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/text"
)

// MaxMarkdownBytes is GitHub's limit on a step summary; Markdown always
// writes less than this.
const MaxMarkdownBytes = 1 << 20

const (
	// maxLogLine caps each log line: one minified bundle or base64 blob
	// printed by a test must not crowd out the lines around it.
	maxLogLine = 4 << 10
	// maxLogTail and maxMessage bound the two large free-text parts, leaving
	// most of the summary's budget to the rest.
	maxLogTail = 256 << 10
	maxMessage = 64 << 10
	// Mermaid refuses diagrams over 50,000 characters or 500 edges (its
	// maxTextSize and maxEdges defaults, which GitHub uses); past that the
	// graph would render as an error, so the table stands alone.
	maxMermaidText  = 50_000
	maxMermaidEdges = 500
)

// truncatedNote ends a summary that had to be cut to fit MaxMarkdownBytes.
const truncatedNote = "\n\n---\n\n**The summary was cut here: it exceeded GitHub's 1 MiB limit for step summaries.**\n"

// Markdown writes the GitHub step summary: the verdict, a table of the
// stages, a graph of them, why the build failed and what the images weigh.
//
// Everything from the build (names, messages, log lines) is escaped where it
// is inserted, by the cell, code and fenced template functions and by the
// view built in newView, so no such text can add table columns, open HTML
// or close a code block.
func Markdown(w io.Writer, r *result.Result) error {
	if r == nil {
		return errNilResult
	}
	var b bytes.Buffer
	if err := markdownTemplate.Execute(&b, newView(r)); err != nil {
		return fmt.Errorf("report: render Markdown: %w", err)
	}
	out := b.Bytes()
	if len(out) >= MaxMarkdownBytes {
		out = []byte(text.TruncateMarkdown(b.String(), MaxMarkdownBytes-1, truncatedNote))
	}
	_, err := w.Write(out)
	return err
}

var markdownTemplate = template.Must(template.New("summary").Funcs(template.FuncMap{
	"cell":   cell,
	"code":   code,
	"fenced": fenced,
	"status": statusCell,
	"roles":  func(roles []result.Role) string { return cell(roleList(roles)) },
	"time":   stageTime,
	"cached": cachedSteps,
	"size":   optBytes,
	"delta":  optDelta,
	"dur":    text.HumanDuration,
}).Parse(`## {{if eq .Verdict "passed"}}✅{{else if eq .Verdict "failed"}}❌{{else if eq .Verdict "cancelled"}}🚫{{else}}❔{{end}} stagegate: {{cell .Verdict}}

{{.Summary}}
{{with .Plan}}
{{.}}{{end}}
{{if .R.Stages}}
| Stage |{{if .Multi}} Platform |{{end}} Role | Status | Time | Cached steps | Size | Compressed | Δ base |
| :-- |{{if .Multi}} :-- |{{end}} :-- | :-- | --: | --: | --: | --: | --: |
{{range .R.Stages}}| {{cell .Name}} |{{if $.Multi}} {{cell .Platform}} |{{end}} {{roles .Roles}} | {{status .Status}} | {{time .}} | {{cached .}} | {{size .Size}} | {{size .CompressedSize}} | {{delta .BaseDelta}} |
{{end}}
{{.Graph}}
{{else}}
No stage was built.
{{end}}{{with .Deltas}}
{{.}}{{end}}
{{- with .Failure}}
### ❌ Failure

{{.Headline}}
{{with .Step}}
Step: {{code .}}
{{end}}{{with .Message}}
{{fenced "text" .}}
{{end}}{{with .Excerpt}}
Dockerfile excerpt, failing lines marked with ` + "`>`" + `:

{{fenced "" .}}
{{end}}{{with .LogTail}}
{{$.Failure.LogTailTitle}}

{{fenced "text" .}}
{{end}}{{end}}
{{- range .Tests}}
### 🧪 Tests of stage {{code .Stage}}

{{.How}}
{{with .Suites}}
| Suite | Passed | Failed | Skipped | Time |
| :-- | --: | --: | --: | --: |
{{range .}}| {{cell .Name}} | {{.Passed}} | {{.Failed}} | {{.Skipped}} | {{dur .Duration}} |
{{end}}{{end}}{{with .Failed}}
Failed tests:

{{range .}}- {{code .Name}}{{with .Where}} at {{code .}}{{end}}: {{cell .Message}}
{{end}}{{end}}{{with .Slowest}}
Slowest tests: {{range $i, $c := .}}{{if $i}}, {{end}}{{code $c.Name}} ({{dur $c.Duration}}){{end}}
{{end}}{{end}}{{- with .Error}}
### ❌ Error

{{fenced "text" .}}
{{end}}
{{- with .Sizes}}
### Sizes

| Image | Size | Compressed | Final image vs this |
| :-- | --: | --: | --: |
{{range .}}| {{if .Final}}**Final image:** {{end}}{{cell .Name}} | {{size .Size}} | {{size .Compressed}} | {{if .Final}}{{else}}{{delta .VsFinal}}{{end}} |
{{end}}{{with $.Digest}}
Final image digest: {{code .}}
{{end}}{{end}}
{{- with .R.Warnings}}
### Warnings

{{range .}}- ⚠️ {{cell .}}
{{end}}{{end}}`))

// view is what the template shows. Multi-line text is cleaned and capped
// here; inline text is escaped by the template functions.
type view struct {
	R     *result.Result
	Tests []testsView
	// Multi: the run built several platforms (a platform column).
	Multi   bool
	Verdict string
	Summary string // Markdown, already escaped
	Plan    string // Markdown, already escaped: the test stages and why
	Graph   string // a fenced Mermaid block, or a note saying why there is none
	Deltas  string // Markdown, already escaped: the comparison with a reference
	Failure *failureView
	Error   string // r.Error when no Failure explains more
	Sizes   []sizeRow
	Digest  string
}

type failureView struct {
	Headline     string // Markdown, already escaped
	Step         string
	Message      string
	Excerpt      string
	LogTail      string
	LogTailTitle string
}

type sizeRow struct {
	Name             string
	Final            bool
	Size, Compressed *int64
	VsFinal          *int64 // final image size minus this stage's
}

func newView(r *result.Result) *view {
	v := &view{R: r, Multi: hasPlatforms(r), Verdict: verdict(r), Summary: summary(r), Plan: PlanMarkdown(r.Plan()), Tests: testsViews(r), Deltas: DeltaMarkdown(r.Comparison)}
	if len(r.Stages) > 0 {
		v.Graph = graph(r.Stages)
	}
	if r.Failure != nil {
		v.Failure = newFailureView(r, r.Failure)
	} else if r.Error != "" && r.Result != result.Cancelled {
		// A cancelled run's error only says why it was interrupted: the
		// summary line says it (see summary).
		v.Error = capText(clean(r.Error), maxMessage)
	}
	v.Sizes, v.Digest = sizes(r)
	return v
}

// summary is the line under the heading: what was built, from what, how long.
func summary(r *result.Result) string {
	var parts []string
	if r.Target != "" {
		parts = append(parts, "Target "+code(r.Target))
	}
	if len(r.TestTargets) > 0 {
		tests := make([]string, len(r.TestTargets))
		for i, t := range r.TestTargets {
			tests[i] = code(t.Name)
		}
		parts = append(parts, "tests "+strings.Join(tests, ", "))
	} else {
		parts = append(parts, "no test stage")
	}
	parts = append(parts, text.HumanDuration(r.Duration))
	if r.File != "" {
		parts = append(parts, code(r.File))
	}
	if r.Result == result.Cancelled && r.Error != "" {
		parts = append(parts, cell(r.Error))
	}
	s := strings.Join(parts, " · ")
	return strings.ToUpper(s[:1]) + s[1:]
}

func graph(stages []result.Stage) string {
	g := strings.TrimSuffix(Mermaid(stages), "\n")
	if len(g) > maxMermaidText || strings.Count(g, " --> ") > maxMermaidEdges {
		return "*The stage graph is too large for Mermaid to draw; the table above lists every stage.*"
	}
	return fenced("mermaid", g)
}

func newFailureView(r *result.Result, f *result.Failure) *failureView {
	fv := &failureView{Step: f.Step, Message: capText(clean(f.Message), maxMessage)}

	var h strings.Builder
	if f.Stage != "" {
		h.WriteString("Stage " + code(f.Stage) + " failed")
	} else {
		h.WriteString("The build failed")
	}
	h.WriteString(" at " + code(location(r, f)))
	if f.ExitCode != nil {
		fmt.Fprintf(&h, " with exit code %d", *f.ExitCode)
	}
	h.WriteString(".")
	fv.Headline = h.String()

	if len(f.Excerpt) > 0 {
		width := 0
		for _, l := range f.Excerpt {
			width = max(width, len(fmt.Sprint(l.Line)))
		}
		lines := make([]string, len(f.Excerpt))
		for i, l := range f.Excerpt {
			mark := " "
			if l.Failing {
				mark = ">"
			}
			lines[i] = fmt.Sprintf("%s %*d | %s", mark, width, l.Line, oneLine(capText(l.Text, maxLogLine)))
		}
		fv.Excerpt = strings.Join(lines, "\n")
	}

	// Keep the end of the log: the lines nearest the failure matter most.
	var tail []string
	size := 0
	for i := len(f.LogTail) - 1; i >= 0; i-- {
		l := clean(capText(f.LogTail[i], maxLogLine))
		if size += len(l) + 1; size > maxLogTail {
			break
		}
		tail = append(tail, l)
	}
	for i, j := 0, len(tail)-1; i < j; i, j = i+1, j-1 {
		tail[i], tail[j] = tail[j], tail[i]
	}
	if len(tail) > 0 {
		fv.LogTail = strings.Join(tail, "\n")
		fv.LogTailTitle = fmt.Sprintf("Last %d log lines:", len(tail))
		if omitted := len(f.LogTail) - len(tail); omitted > 0 {
			fv.LogTailTitle = fmt.Sprintf("Last %d log lines (%d earlier lines left out to fit the summary):", len(tail), omitted)
		}
	}
	return fv
}

// sizes compares the final image with the stages it was built from, which
// is where a multi-stage build shows what it saved. The final image's size
// comes from its stage, or from r.Image when the stage has none.
func sizes(r *result.Result) ([]sizeRow, string) {
	final := sizeRow{Name: r.Target, Final: true}
	var from []int
	if t := targetStage(r); t != nil {
		final.Name, final.Size, final.Compressed = t.Name, t.Size, t.CompressedSize
		from = ancestors(r.Stages, t)
	}
	digest := ""
	if r.Image != nil {
		if final.Size == nil {
			final.Size = r.Image.Size
		}
		if final.Compressed == nil {
			final.Compressed = r.Image.CompressedSize
		}
		digest = r.Image.Digest
	}
	rows := []sizeRow{final}
	for _, i := range from {
		st := &r.Stages[i]
		if st.Size == nil {
			continue
		}
		row := sizeRow{Name: st.Name, Size: st.Size, Compressed: st.CompressedSize}
		if final.Size != nil {
			d := *final.Size - *st.Size
			row.VsFinal = &d
		}
		rows = append(rows, row)
	}
	if final.Size == nil && final.Compressed == nil && len(rows) == 1 {
		return nil, digest // nothing was measured: no section
	}
	return rows, digest
}

// ancestors lists, in Dockerfile order, the positions in stages of every
// stage t was built from, directly or not.
func ancestors(stages []result.Stage, t *result.Stage) []int {
	pos := make(map[string]int, len(stages))
	for i := range stages {
		if _, dup := pos[stages[i].Name]; !dup {
			pos[stages[i].Name] = i
		}
	}
	seen := make([]bool, len(stages))
	var visit func(st *result.Stage)
	visit = func(st *result.Stage) {
		for _, dep := range append([]string{st.BaseStage}, st.DependsOn...) {
			if j, ok := pos[dep]; ok && !seen[j] && &stages[j] != t {
				seen[j] = true
				visit(&stages[j])
			}
		}
	}
	visit(t)
	var out []int
	for i, ok := range seen {
		if ok {
			out = append(out, i)
		}
	}
	return out
}

// cell escapes text for a table cell or a line of prose: one line, with
// the characters that start Markdown or HTML syntax backslash-escaped. A
// "|" must be escaped even inside code spans in a GitHub table, which is why
// cells use escapes rather than code spans.
func cell(s string) string {
	s = oneLine(s)
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>|~&!$#", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// code writes s as an inline code span, with a backtick fence longer than
// any run of backticks in s (CommonMark's rule for literal backticks).
func code(s string) string {
	s = oneLine(s)
	if s == "" {
		return `""`
	}
	tick := strings.Repeat("`", longestRun(s, '`')+1)
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return tick + pad + s + pad + tick
}

// fenced writes content as a fenced code block whose fence is longer than
// any run of backticks in it, so no line of content can close the block.
// content must already be clean.
func fenced(info, content string) string {
	fence := strings.Repeat("`", max(3, longestRun(content, '`')+1))
	return fence + info + "\n" + content + "\n" + fence
}

func longestRun(s string, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

func statusCell(s result.Status) string {
	icon := ""
	switch s {
	case result.StatusPassed:
		icon = "✅ "
	case result.StatusFailed:
		icon = "❌ "
	case result.StatusCached:
		icon = "⚡ "
	case result.StatusSkipped:
		icon = "⏭️ "
	case result.StatusCancelled:
		icon = "🚫 "
	}
	return icon + cell(string(s))
}

// testsView is what a test stage's tests did, for the summary.
type testsView struct {
	Stage   string
	How     string // Markdown, escaped
	Suites  []result.Suite
	Failed  []failedTestView
	Slowest []result.TestCase
}

type failedTestView struct {
	Name, Where, Message string
}

// maxFailedTests bounds the failed tests listed per stage.
const maxFailedTests = 50

func testsViews(r *result.Result) []testsView {
	var out []testsView
	for i := range r.Stages {
		st := &r.Stages[i]
		tr := st.Tests
		if tr == nil || (st.Platform != "" && i > 0 && r.Stages[i-1].Name == st.Name) {
			continue
		}
		v := testsView{Stage: st.Name, Suites: tr.Suites, Slowest: tr.Slowest}
		switch {
		case tr.NotRun != "":
			v.How = "⚠️ " + cell(tr.NotRun)
		case tr.Mode == result.TestModeRun:
			v.How = "Ran the stage's command " + code(strings.Join(tr.Command, " "))
			if tr.ExitCode != nil {
				v.How += fmt.Sprintf(", exit code %d.", *tr.ExitCode)
			}
		default:
			v.How = "The tests ran as the stage's RUN steps."
		}
		if tr.CommandNotRun != "" {
			v.How += " ⚠️ Its command " + code(tr.CommandNotRun) + " was not run (test-mode build): if that command is the test, use test-mode run or auto."
		}
		for j, f := range tr.Failed {
			if j == maxFailedTests {
				v.Failed = append(v.Failed, failedTestView{Name: fmt.Sprintf("… and %d more", len(tr.Failed)-j)})
				break
			}
			fv := failedTestView{Name: f.Name, Message: firstLine(f.Message)}
			if f.File != "" {
				fv.Where = f.File
				if f.Line > 0 {
					fv.Where += ":" + strconv.Itoa(f.Line)
				}
			}
			v.Failed = append(v.Failed, fv)
		}
		out = append(out, v)
	}
	return out
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return text.TruncateBytes(line, 300)
}
