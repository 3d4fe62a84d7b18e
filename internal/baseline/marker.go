package baseline

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/stagegate/stagegate/internal/text"
)

// The figures travel at the end of the image check's output.text inside an
// HTML comment, which GitHub's Markdown does not show.
const (
	markerStart = "<!-- stagegate:figures "
	markerEnd   = " -->"
)

// MaxFiguresBytes bounds the comment, so the visible text keeps most of
// GitHub's 65,535 bytes.
const MaxFiguresBytes = 16 << 10

// Comment renders s as the hidden comment. Stages past MaxFiguresBytes are
// left out (the target's first), and the snapshot says so.
func Comment(s Snapshot) string {
	s.Stages = targetFirst(s.Stages, s.Target)
	for {
		// json.Marshal escapes < and >, so no value can close the comment.
		b, err := json.Marshal(s)
		if err != nil {
			return "" // a snapshot holds only strings and numbers
		}
		c := markerStart + string(b) + markerEnd
		if len(c) <= MaxFiguresBytes || len(s.Stages) == 0 {
			return c
		}
		s.Stages, s.Truncated = s.Stages[:len(s.Stages)*3/4], true
	}
}

func targetFirst(stages []Stage, target string) []Stage {
	out := make([]Stage, 0, len(stages))
	for _, st := range stages {
		if st.Name == target {
			out = append(out, st)
		}
	}
	for _, st := range stages {
		if st.Name != target {
			out = append(out, st)
		}
	}
	return out
}

// Embed appends the figures' comment to body, cutting body first so the
// whole fits in limit bytes: the figures must survive GitHub's limit.
func Embed(body string, s Snapshot, limit int) string {
	c := Comment(s)
	room := limit - len(c) - 2
	if len(body) > room {
		const note = "\n… (truncated)"
		body = text.TruncateBytes(body, max(room-len(note), 0)) + note
	}
	if body == "" {
		return c
	}
	return body + "\n\n" + c
}

// Extract finds the figures in a check run's text (or summary). ok is false
// when there are none; an error means figures that cannot be read.
func Extract(text string) (s Snapshot, ok bool, err error) {
	i := strings.LastIndex(text, markerStart)
	if i < 0 {
		return Snapshot{}, false, nil
	}
	rest := text[i+len(markerStart):]
	j := strings.Index(rest, markerEnd)
	if j < 0 {
		return Snapshot{}, false, fmt.Errorf("the figures' comment is not closed")
	}
	if err := json.Unmarshal([]byte(rest[:j]), &s); err != nil {
		return Snapshot{}, false, fmt.Errorf("decode the figures: %w", err)
	}
	if s.Version != Version {
		return Snapshot{}, false, fmt.Errorf("figures of version %d, this stagegate reads version %d", s.Version, Version)
	}
	return s, true, nil
}
