// Package text holds the small text helpers that reports and GitHub's
// limits share: sizes and durations as people read them, and cuts that
// respect UTF-8 (GitHub's limits are in bytes) and Markdown code blocks.
package text

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// nearbyLineEnd is how far back from a cut TruncateMarkdown looks for a line
// end to cut at instead: the length reports cap a log line at.
const nearbyLineEnd = 4 << 10

// HumanBytes formats n with decimal units and one decimal, the way docker
// prints image sizes: "512 B", "4.2 MB", "1.3 GB". Negative sizes keep their
// sign.
func HumanBytes(n int64) string {
	sign := ""
	u := uint64(n)
	if n < 0 {
		sign = "-"
		u = uint64(-(n + 1)) + 1 // -n overflows for math.MinInt64
	}
	if u < 1000 {
		return fmt.Sprintf("%s%d B", sign, u)
	}
	units := [...]string{"kB", "MB", "GB", "TB", "PB", "EB"}
	v := float64(u) / 1000
	i := 0
	// Compare the rounded value so that 999,999 B reads "1.0 MB", not "1000.0 kB".
	for i < len(units)-1 && math.Round(v*10)/10 >= 1000 {
		v /= 1000
		i++
	}
	return fmt.Sprintf("%s%.1f %s", sign, v, units[i])
}

// HumanDuration formats a duration in seconds like BuildKit's progress does:
// "0.4s", "12.3s", then "2m05s" and "1h02m03s" once a minute has passed.
func HumanDuration(seconds float64) string {
	if math.IsNaN(seconds) || seconds < 0 {
		seconds = 0
	}
	if t := math.Round(seconds*10) / 10; t < 60 {
		return strconv.FormatFloat(t, 'f', 1, 64) + "s"
	}
	// Clamp so the conversion to an integer stays defined for absurd inputs.
	total := int64(math.Round(math.Min(seconds, 1e12)))
	h, m, s := total/3600, total/60%60, total%60
	if h > 0 {
		return fmt.Sprintf("%dh%02dm%02ds", h, m, s)
	}
	return fmt.Sprintf("%dm%02ds", m, s)
}

// TruncateBytes returns the longest prefix of s that is at most max bytes and
// does not split a UTF-8 encoded rune, so the result of cutting valid UTF-8
// stays valid. GitHub limits (step summaries, annotations, outputs) are in
// bytes, which is why the cut is too.
func TruncateBytes(s string, max int) string {
	if max <= 0 {
		return ""
	}
	if len(s) <= max {
		return s
	}
	// s[max] is the first byte cut off; if it continues a rune, that rune
	// started at most UTFMax-1 bytes earlier and must go too.
	i := max
	for i > 0 && i > max-(utf8.UTFMax-1) && !utf8.RuneStart(s[i]) {
		i--
	}
	if !utf8.RuneStart(s[i]) {
		i = max // not UTF-8 to begin with: cut where asked
	}
	return s[:i]
}

// TruncateMarkdown returns doc when it is at most limit bytes; otherwise it
// cuts doc so that it and note fit in limit bytes and appends note. The cut
// falls at a line end when there is one nearby, so no table row or word is
// left half drawn, and a code block the cut leaves open is closed, so the
// note and whatever renders after it are not read as code. The step summary
// and the check runs' pages share it.
func TruncateMarkdown(doc string, limit int, note string) string {
	if len(doc) <= limit {
		return doc
	}
	budget := limit - len(note)
	if budget <= 0 {
		return TruncateBytes(note, limit)
	}
	// Each pass that does not fit leaves room for a longer closing fence
	// than the last, so this ends after a pass or two.
	for cut := budget; ; {
		kept := TruncateBytes(doc, cut)
		if i := strings.LastIndexByte(kept, '\n'); i >= 0 && i >= len(kept)-nearbyLineEnd {
			kept = kept[:i]
		}
		closing := ""
		if fence := openFence(kept); fence != "" {
			closing = "\n" + fence
		}
		if len(kept)+len(closing) <= budget {
			return kept + closing + note
		}
		cut = budget - len(closing)
	}
}

// openFence is the fence of the code block doc ends inside, or "". The
// fences stagegate writes start their line and are longer than any run of
// backticks inside them (see fenced).
func openFence(doc string) string {
	fence := ""
	for _, line := range strings.Split(doc, "\n") {
		ticks := len(line) - len(strings.TrimLeft(line, "`"))
		switch {
		case fence == "" && ticks >= 3 && !strings.Contains(line[ticks:], "`"):
			fence = line[:ticks]
		case fence != "" && ticks >= len(fence) && strings.TrimSpace(line[ticks:]) == "":
			fence = ""
		}
	}
	return fence
}
