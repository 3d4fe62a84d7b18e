package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stagegate/stagegate/internal/result"
)

func renderMarkdown(t *testing.T, r *result.Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if len(out) >= MaxMarkdownBytes {
		t.Errorf("summary is %d bytes, GitHub takes less than %d", len(out), MaxMarkdownBytes)
	}
	if !utf8.ValidString(out) {
		t.Error("summary is not valid UTF-8")
	}
	return out
}

func TestMarkdown(t *testing.T) {
	passed := sample()
	passed.Result, passed.Failure, passed.Warnings = result.Passed, nil, nil
	passed.Stages[2].Status, passed.Stages[3].Status = result.StatusPassed, result.StatusPassed

	builderGone := &result.Result{Result: result.Failed, Target: "app", Error: "builder went away"}

	imageOnly := sample()
	imageOnly.Stages[3].Size, imageOnly.Stages[3].CompressedSize = nil, nil
	imageOnly.Image = &result.Image{Digest: "sha256:abc", Size: ptr(int64(5_000_000)), CompressedSize: ptr(int64(2_000_000))}

	unsized := sample()
	for i := range unsized.Stages {
		unsized.Stages[i].Size, unsized.Stages[i].CompressedSize = nil, nil
	}

	for _, tc := range []struct {
		name     string
		r        *result.Result
		want     []string
		dontWant []string
	}{
		{
			name: "failed run",
			r:    sample(),
			want: []string{
				"## ❌ stagegate: failed\n\nTarget `app` · tests `test` · 1m23s · `Dockerfile`\n",
				"| Stage | Role | Status | Time | Cached steps | Size | Compressed | Δ base |\n",
				"| test | test | ❌ failed | 12.3s | 1/2 | - | - | - |\n",
				"| build | dependency | ✅ passed | 41.3s | 1/3 | 1.2 GB | - | +350.0 MB |\n",
				"```mermaid\ngraph TD\n",
				"  s1 --> s2\n",
				"### ❌ Failure\n\nStage `test` failed at `Dockerfile:12-13` with exit code 1.\n",
				"Step: `[test 2/2] RUN go test ./...`\n",
				"```text\nprocess \"/bin/sh -c go test ./...\" did not complete successfully: exit code: 1\n```\n",
				"```\n  10 | FROM build AS test\n  11 | COPY . .\n> 12 | RUN go test \\\n> 13 |     ./...\n```\n",
				"Last 3 log lines:\n\n```text\n--- FAIL: TestParse (0.00s)\n    parse_test.go:12: got 1, want 2\nFAIL\n```\n",
				"| **Final image:** app | 4.2 MB | 1.9 MB |  |\n",
				"| base | 850.0 MB | 300.0 MB | -845.8 MB |\n",
				"- ⚠️ could not size stage \"test\": it failed\n",
			},
			dontWant: []string{"| test | 0.0s", "### ❌ Error"},
		},
		{
			name:     "passed run",
			r:        passed,
			want:     []string{"## ✅ stagegate: passed\n", "| app | target | ✅ passed |"},
			dontWant: []string{"Failure", "❌", "Warnings"},
		},
		{
			name:     "error without failure",
			r:        builderGone,
			want:     []string{"## ❌ stagegate: failed\n", "No stage was built.\n", "### ❌ Error\n\n```text\nbuilder went away\n```\n"},
			dontWant: []string{"```mermaid", "| Stage |", "### Sizes"},
		},
		{
			name: "final image size from r.Image",
			r:    imageOnly,
			want: []string{"| **Final image:** app | 5.0 MB | 2.0 MB |  |\n", "| build | 1.2 GB | - | -1.2 GB |\n", "Final image digest: `sha256:abc`\n"},
		},
		{
			name:     "no sizes, no sizes section",
			r:        unsized,
			dontWant: []string{"### Sizes"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := renderMarkdown(t, tc.r)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("summary lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tc.dontWant {
				if strings.Contains(got, w) {
					t.Errorf("summary has %q:\n%s", w, got)
				}
			}
		})
	}
}

// The table is the primary view: it comes first, and the graph only after.
func TestMarkdownTableBeforeGraph(t *testing.T) {
	got := renderMarkdown(t, sample())
	table, graph := strings.Index(got, "| Stage |"), strings.Index(got, "```mermaid")
	if table < 0 || graph < 0 || table > graph {
		t.Errorf("table at %d, graph at %d:\n%s", table, graph, got)
	}
}

// tables returns the tables of a Markdown document as rows of cell counts,
// the way GitHub splits them: lines starting with "|" outside code blocks,
// split at pipes that are not escaped.
func tables(doc string) [][]int {
	var out [][]int
	var cur []int
	fence := ""
	for _, l := range strings.Split(doc, "\n") {
		switch {
		case fence != "":
			if strings.TrimRight(l, "`") == "" && len(l) >= len(fence) {
				fence = ""
			}
			continue
		case strings.HasPrefix(l, "```"):
			fence = l[:len(l)-len(strings.TrimLeft(l, "`"))]
			continue
		case strings.HasPrefix(l, "|"):
			cur = append(cur, cells(l))
			continue
		}
		if cur != nil {
			out = append(out, cur)
			cur = nil
		}
	}
	if cur != nil {
		out = append(out, cur)
	}
	return out
}

func cells(row string) int {
	n := 0
	for i := 0; i < len(row); i++ {
		switch row[i] {
		case '\\':
			i++
		case '|':
			n++
		}
	}
	return n - 1
}

func TestMarkdownTableCellsAreEscaped(t *testing.T) {
	r := sample()
	r.Stages[0].Name = "a|b\nc | d\\|<img src=x>`x`"
	r.Stages[1].Roles = []result.Role{"x|y"}
	r.Stages[2].Status = "weird|status"
	r.Stages[3].Name = "app|x"
	r.Failure.Message = "exit | status\n| not | a | table |"
	got := renderMarkdown(t, r)

	// The stage table (4 stages) and the sizes table (the final image and
	// build), with every row as wide as its header.
	want := [][]int{{8, 8, 8, 8, 8, 8}, {4, 4, 4, 4}}
	if ts := tables(got); fmt.Sprint(ts) != fmt.Sprint(want) {
		t.Errorf("tables (cells per row) = %v, want %v:\n%s", ts, want, got)
	}
	for _, w := range []string{
		`| a\|b c \| d\\\|\<img src=x\>\` + "`x\\`" + ` | dependency |`,
		`| build | x\|y |`,
		`| test | test | weird\|status |`,
		"```text\nexit | status\n| not | a | table |\n```", // shown verbatim in a code block
	} {
		if !strings.Contains(got, w) {
			t.Errorf("summary lacks %q:\n%s", w, got)
		}
	}
}

func TestMarkdownFencesOutlastContent(t *testing.T) {
	r := sample()
	r.Failure.LogTail = []string{"before", "```", "````` five", "after"}
	r.Failure.Message = "has ``` in it"
	r.Failure.Stage = "`odd`"
	got := renderMarkdown(t, r)
	for _, w := range []string{
		"``````text\nbefore\n```\n````` five\nafter\n``````\n",
		"````text\nhas ``` in it\n````\n",
		"Stage `` `odd` `` failed",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("summary lacks %q:\n%s", w, got)
		}
	}
}

func TestMarkdownHugeLogLine(t *testing.T) {
	r := sample()
	// 10 MB of two-byte runes, so a byte cut can land mid-rune.
	r.Failure.LogTail = []string{"start", strings.Repeat("é", 5<<20), "end"}
	got := renderMarkdown(t, r)
	if len(got) > 64<<10 {
		t.Errorf("one long log line made the summary %d bytes", len(got))
	}
	if !strings.Contains(got, "```text\nstart\néé") || !strings.Contains(got, "é … [10.5 MB more]\nend\n```") {
		t.Errorf("log tail not capped as expected:\n%.2000s", got)
	}
}

func TestMarkdownLongLogKeepsItsEnd(t *testing.T) {
	r := sample()
	r.Failure.LogTail = nil
	for i := range 1000 {
		r.Failure.LogTail = append(r.Failure.LogTail, fmt.Sprintf("line %04d %s", i, strings.Repeat("x", 4000)))
	}
	got := renderMarkdown(t, r)
	if !strings.Contains(got, "earlier lines left out to fit the summary") || !strings.Contains(got, "line 0999 ") || strings.Contains(got, "line 0000 ") {
		t.Errorf("log tail not cut from the front:\n%.500s", got)
	}
	if strings.Contains(got, truncatedNote) {
		t.Error("log tail alone forced a cut of the whole summary")
	}
}

func TestMarkdownTruncatesWholeDocument(t *testing.T) {
	r := &result.Result{Result: result.Passed, Target: "s0"}
	name := strings.Repeat("日", 400) // 1200 bytes, three-byte runes
	for i := range 2000 {
		r.Stages = append(r.Stages, result.Stage{Name: fmt.Sprintf("s%d-%s", i, name), Status: result.StatusPassed})
	}
	got := renderMarkdown(t, r)
	if !strings.HasSuffix(got, truncatedNote) {
		t.Errorf("no truncation note at the end:\n%s", got[len(got)-500:])
	}
	// The cut falls at a line end, so no table row is left half drawn.
	if body := strings.TrimSuffix(got, truncatedNote); !strings.HasSuffix(body, " |") {
		t.Errorf("cut mid-row: %q", body[len(body)-100:])
	}
}

func TestMarkdownGraphTooLargeForMermaid(t *testing.T) {
	r := &result.Result{Result: result.Passed}
	for i := range 600 {
		st := result.Stage{Name: fmt.Sprintf("s%d", i), Status: result.StatusPassed}
		if i > 0 {
			st.DependsOn = []string{fmt.Sprintf("s%d", i-1)}
		}
		r.Stages = append(r.Stages, st)
	}
	got := renderMarkdown(t, r)
	if strings.Contains(got, "```mermaid") || !strings.Contains(got, "too large for Mermaid") {
		t.Error("a graph Mermaid cannot draw was not replaced by a note")
	}
	if !strings.Contains(got, "| s599 |") {
		t.Error("the table lost stages")
	}
}

func TestMarkdownTestsSection(t *testing.T) {
	code := 1
	r := &result.Result{Result: result.Failed, Target: "final", TestTargets: []result.TestTarget{{Name: "test", Reason: "named in the test targets", Mode: result.TestModeBuild}}, Stages: []result.Stage{{
		Name: "test", Roles: []result.Role{result.RoleTest}, Status: result.StatusFailed,
		Tests: &result.TestResults{
			Mode: result.TestModeRun, Command: []string{"go", "test", "./..."}, ExitCode: &code,
			Suites:  []result.Suite{{Name: "example.com/sample/calc", Passed: 3, Failed: 2, Skipped: 1, Duration: 0.4}},
			Failed:  []result.TestCase{{Name: "TestSub", File: "calc/calc_test.go", Line: 17, Message: "Sub(5, 3) = 1, want 2\nmore"}},
			Slowest: []result.TestCase{{Name: "TestSub", Duration: 0.03}},
		},
	}}}
	var b strings.Builder
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Tests of stage `test`", "| example.com/sample/calc | 3 | 2 | 1 |", "`TestSub` at `calc/calc_test.go:17`: Sub(5, 3) = 1, want 2", "exit code 1", "Slowest tests: `TestSub`"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}
