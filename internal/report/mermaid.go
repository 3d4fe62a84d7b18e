package report

import (
	"fmt"
	"strings"

	"github.com/stagegate/stagegate/internal/result"
)

// Mermaid draws the stages as a Mermaid flowchart, an arrow from each stage
// to the stages that use it. Node ids are s<position>, never the stage name,
// so no name can break the syntax; labels are quoted with Mermaid's entity
// escapes. Stages with a status (from a build) show it in the label and
// failed or skipped ones are styled, so the graph shows where a build broke.
func Mermaid(stages []result.Stage) string {
	var b strings.Builder
	b.WriteString("graph TD\n")
	pos := make(map[string]int, len(stages))
	for i := range stages {
		if _, dup := pos[stages[i].Name]; !dup {
			pos[stages[i].Name] = i
		}
	}
	for i := range stages {
		st := &stages[i]
		label := st.Name
		if st.Status != "" {
			label += " (" + string(st.Status) + ")"
		}
		fmt.Fprintf(&b, "  s%d[\"%s\"]\n", i, mermaidLabel(label))
	}
	for i := range stages {
		st := &stages[i]
		seen := map[int]bool{}
		// BaseStage is a dependency by definition; include it in case the
		// producer listed it only there.
		for _, dep := range append([]string{st.BaseStage}, st.DependsOn...) {
			j, ok := pos[dep]
			if dep == "" || !ok || j == i || seen[j] {
				continue
			}
			seen[j] = true
			fmt.Fprintf(&b, "  s%d --> s%d\n", j, i)
		}
	}
	var failed, skipped []string
	for i := range stages {
		switch stages[i].Status {
		case result.StatusFailed:
			failed = append(failed, fmt.Sprintf("s%d", i))
		case result.StatusSkipped, result.StatusCancelled:
			skipped = append(skipped, fmt.Sprintf("s%d", i))
		}
	}
	if len(failed) > 0 {
		b.WriteString("  classDef failed stroke:#d1242f,stroke-width:3px\n")
		b.WriteString("  class " + strings.Join(failed, ",") + " failed\n")
	}
	if len(skipped) > 0 {
		b.WriteString("  classDef skipped stroke-dasharray:5 5\n")
		b.WriteString("  class " + strings.Join(skipped, ",") + " skipped\n")
	}
	return b.String()
}

// mermaidLabel escapes text for a quoted Mermaid label. Mermaid decodes
// "#name;" and "#35;" entities, so "#" itself must be escaped first (the
// replacer works in one pass). Backticks are escaped so the graph never
// needs a longer Markdown fence, and < > & so HTML labels stay text.
func mermaidLabel(s string) string {
	return strings.NewReplacer(
		"#", "#35;",
		`"`, "#quot;",
		"<", "#lt;",
		">", "#gt;",
		"&", "#amp;",
		"`", "#96;",
	).Replace(oneLine(s))
}
