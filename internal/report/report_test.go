package report

import (
	"testing"
)

func TestSignedBytes(t *testing.T) {
	for n, want := range map[int64]string{1_000_000: "+1.0 MB", -1_000_000: "-1.0 MB", 0: "0 B"} {
		if got := signedBytes(n); got != want {
			t.Errorf("signedBytes(%d) = %q, want %q", n, got, want)
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
