package report

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

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

func TestSignedBytes(t *testing.T) {
	for n, want := range map[int64]string{1_000_000: "+1.0 MB", -1_000_000: "-1.0 MB", 0: "0 B"} {
		if got := signedBytes(n); got != want {
			t.Errorf("signedBytes(%d) = %q, want %q", n, got, want)
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

func TestClean(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"colours", "\x1b[31mFAIL\x1b[0m: x", "FAIL: x"},
		{"title and hyperlink", "\x1b]0;pwned\x07ok \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "ok link"},
		{"progress bar redraws", "10%\r50%\r100%\r\n", "100%\n"},
		{"control characters", "a\x00b\x07c\x7fd\u009be", "abcde"},
		{"tabs and newlines stay", "a\tb\nc", "a\tb\nc"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
	} {
		if got := clean(tc.in); got != tc.want {
			t.Errorf("%s: clean(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}
