package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stagegate/stagegate/internal/result"
)

// A summary cut inside a code block closes the block, so the note saying it
// was cut is not shown as code (and nothing after it could be).
func TestMarkdownCutInsideCodeBlock(t *testing.T) {
	r := &result.Result{Result: result.Failed, Target: "app", Stages: []result.Stage{{Name: "app", Status: result.StatusFailed}}}
	r.Failure = &result.Failure{Stage: "app", Message: "failed"}
	line := strings.Repeat("`", 10) + strings.Repeat("x", 4000)
	for i := 1; i <= 400; i++ { // about 1.6 MB of excerpt
		r.Failure.Excerpt = append(r.Failure.Excerpt, result.ExcerptLine{Line: i, Text: line})
	}
	var b bytes.Buffer
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	before, ok := strings.CutSuffix(out, truncatedNote)
	if !ok {
		t.Fatalf("the summary was not cut: %d bytes", len(out))
	}
	if fence := strings.Repeat("`", 11); !strings.HasSuffix(before, "\n"+fence) {
		t.Errorf("the cut does not close the excerpt's block with %q: ends %q", fence, before[len(before)-40:])
	}
	checkMarkdown(t, r, out)
}
