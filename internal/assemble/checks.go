package assemble

import (
	"strings"

	"github.com/moby/buildkit/client"
	"github.com/stagegate/stagegate/internal/result"
)

// BuildChecks turns BuildKit's Dockerfile check warnings into results, once
// each: every solve of the session reports them again.
func BuildChecks(file string, warnings []*client.VertexWarning) []result.BuildCheck {
	var out []result.BuildCheck
	seen := map[string]bool{}
	for _, w := range warnings {
		short := string(w.Short)
		rule, msg, ok := strings.Cut(short, ": ")
		if !ok || strings.ContainsAny(rule, " \t") {
			rule, msg = "", short
		}
		c := result.BuildCheck{Rule: rule, Message: msg, URL: w.URL, File: file}
		if len(w.Detail) > 0 {
			c.Description = string(w.Detail[0])
		}
		if len(w.Range) > 0 {
			c.Line = int(w.Range[0].Start.Line)
			c.EndLine = int(w.Range[len(w.Range)-1].End.Line)
		}
		key := c.Rule + "\x00" + c.Message
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, c)
	}
	return out
}
