package text

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

// note is the report's note at the end of a cut step summary.
const note = "\n\n---\n\n**The summary was cut here: it exceeded GitHub's 1 MiB limit for step summaries.**\n"

func TestHumanBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{999, "999 B"},
		{1000, "1.0 kB"},
		{4_200_000, "4.2 MB"},
		{999_949, "999.9 kB"},
		{999_999, "1.0 MB"}, // rounds up into the next unit, not "1000.0 kB"
		{1_500_000_000, "1.5 GB"},
		{-4_200_000, "-4.2 MB"},
		{math.MaxInt64, "9.2 EB"},
		{math.MinInt64, "-9.2 EB"},
	} {
		if got := HumanBytes(tc.n); got != tc.want {
			t.Errorf("HumanBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	for _, tc := range []struct {
		s    float64
		want string
	}{
		{0, "0.0s"},
		{0.04, "0.0s"},
		{1.24, "1.2s"},
		{59.94, "59.9s"},
		{59.96, "1m00s"},
		{83.4, "1m23s"},
		{3723, "1h02m03s"},
		{-1, "0.0s"},
		{math.NaN(), "0.0s"},
	} {
		if got := HumanDuration(tc.s); got != tc.want {
			t.Errorf("HumanDuration(%v) = %q, want %q", tc.s, got, tc.want)
		}
	}
	if got := HumanDuration(math.Inf(1)); !strings.HasSuffix(got, "s") {
		t.Errorf("HumanDuration(+Inf) = %q", got)
	}
}

func TestTruncateBytes(t *testing.T) {
	for _, tc := range []struct {
		s    string
		max  int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 3, "hel"},
		{"hello", 0, ""},
		{"hello", -1, ""},
		{"héllo", 2, "h"},  // é is 2 bytes: cutting after its first byte drops it
		{"héllo", 3, "hé"}, // cut right after é
		{"日本語", 4, "日"},    // 3-byte runes
		{"日本語", 6, "日本"},   // exact boundary
		{"a😀b", 2, "a"},    // 4-byte rune, cut after 1, 2 and 3 of its bytes
		{"a😀b", 4, "a"},
		{"a😀b", 5, "a😀"},
		{"\xff\xfe\xfd", 2, "\xff\xfe"}, // not UTF-8: cut where asked
	} {
		if got := TruncateBytes(tc.s, tc.max); got != tc.want {
			t.Errorf("TruncateBytes(%q, %d) = %q, want %q", tc.s, tc.max, got, tc.want)
		}
	}

	// Every cut of valid UTF-8 is a valid, maximal prefix within the limit.
	s := "aé日😀b" + strings.Repeat("ß", 3)
	for max := 0; max <= len(s)+1; max++ {
		got := TruncateBytes(s, max)
		if !utf8.ValidString(got) || !strings.HasPrefix(s, got) || len(got) > max || len(got) < max-(utf8.UTFMax-1) {
			t.Errorf("TruncateBytes(%q, %d) = %q", s, max, got)
		}
	}
}

func TestTruncateMarkdown(t *testing.T) {
	logLines := strings.Repeat("log line ü\n", 100)
	tests := []struct {
		name, doc string
		limit     int
		wantEnd   string // what the document ends with, before the note
	}{
		{"fits", "short", 500, ""},
		{"cut at a line end", strings.Repeat("line ü\n", 1000), 500, "line ü"},
		{"no line end: cut at a rune", strings.Repeat("ü", 1000), 500, "ü"},
		{"cut inside a fence", "## failed\n\n```text\n" + logLines + "```\n\nafter", 500, "log line ü\n```"},
		{"cut inside a longer fence", "````text\n```\n" + logLines + "````\n", 500, "log line ü\n````"},
		{"cut after a closed fence", "```\ncode\n```\n" + strings.Repeat("text\n", 200), 500, "text"},
		{"room for the note only", strings.Repeat("x", 100), len(note), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := TruncateMarkdown(tc.doc, tc.limit, note)
			if len(got) > tc.limit || !utf8.ValidString(got) {
				t.Fatalf("%d bytes (limit %d), valid UTF-8 %v", len(got), tc.limit, utf8.ValidString(got))
			}
			if len(tc.doc) <= tc.limit {
				if got != tc.doc {
					t.Errorf("a document that fits was changed: %q", got)
				}
				return
			}
			body, ok := strings.CutSuffix(got, note)
			if !ok || !strings.HasSuffix(body, tc.wantEnd) {
				t.Errorf("got %q, want it to end with %q and the note", got, tc.wantEnd)
			}
			if f := openFence(body); f != "" {
				t.Errorf("the note is inside the code block opened by %q", f)
			}
		})
	}
}
