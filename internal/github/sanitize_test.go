package github

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanPath(t *testing.T) {
	tests := []struct{ in, workspace, want string }{
		{"Dockerfile", "", "Dockerfile"},
		{"./Dockerfile", "", "Dockerfile"},
		{"/Dockerfile", "", "Dockerfile"},
		{`build\docker\Dockerfile`, "", "build/docker/Dockerfile"},
		{"/github/workspace/build/Dockerfile", "/github/workspace", "build/Dockerfile"},
		{"/github/workspace/build/Dockerfile", "/github/workspace/", "build/Dockerfile"},
		{"/github/workspace2/Dockerfile", "/github/workspace", "github/workspace2/Dockerfile"},
		{"a/./b/../Dockerfile", "", "a/Dockerfile"},
		{"../../etc/Dockerfile", "", "etc/Dockerfile"},
		{"  docker/Dockerfile ", "", "docker/Dockerfile"},
		{"", "", "Dockerfile"},
		{".", "", "Dockerfile"},
		{"/", "", "Dockerfile"},
		{"bad\xffname", "", "bad\uFFFDname"},
	}
	for _, tt := range tests {
		if got := cleanPath(tt.in, tt.workspace); got != tt.want {
			t.Errorf("cleanPath(%q, %q) = %q, want %q", tt.in, tt.workspace, got, tt.want)
		}
	}
}

func TestCleanAnnotation(t *testing.T) {
	tests := []struct {
		name string
		in   Annotation
		want Annotation
	}{
		{"valid", Annotation{Path: "Dockerfile", StartLine: 2, EndLine: 4, Level: "failure", Title: "t", Message: "m"},
			Annotation{Path: "Dockerfile", StartLine: 2, EndLine: 4, Level: "failure", Title: "t", Message: "m"}},
		{"no lines", Annotation{Path: "D", Level: "notice", Message: "m"},
			Annotation{Path: "D", StartLine: 1, EndLine: 1, Level: "notice", Message: "m"}},
		{"end before start", Annotation{Path: "D", StartLine: 7, EndLine: 3, Level: "notice", Message: "m"},
			Annotation{Path: "D", StartLine: 7, EndLine: 7, Level: "notice", Message: "m"}},
		{"columns on one line", Annotation{Path: "D", StartLine: 3, EndLine: 3, StartColumn: 4, EndColumn: 9, Message: "m"},
			Annotation{Path: "D", StartLine: 3, EndLine: 3, StartColumn: 4, EndColumn: 9, Level: "notice", Message: "m"}},
		{"columns reversed", Annotation{Path: "D", StartLine: 3, EndLine: 3, StartColumn: 4, EndColumn: 2, Message: "m"},
			Annotation{Path: "D", StartLine: 3, EndLine: 3, StartColumn: 4, EndColumn: 4, Level: "notice", Message: "m"}},
		{"columns on several lines", Annotation{Path: "D", StartLine: 3, EndLine: 5, StartColumn: 4, EndColumn: 9, Message: "m"},
			Annotation{Path: "D", StartLine: 3, EndLine: 5, Level: "notice", Message: "m"}},
		{"column 0", Annotation{Path: "D", StartLine: 3, EndLine: 3, StartColumn: 0, EndColumn: 9, Message: "m"},
			Annotation{Path: "D", StartLine: 3, EndLine: 3, Level: "notice", Message: "m"}},
		{"error level", Annotation{Path: "D", StartLine: 1, EndLine: 1, Level: "ERROR", Message: "m"},
			Annotation{Path: "D", StartLine: 1, EndLine: 1, Level: "failure", Message: "m"}},
		{"warn level", Annotation{Path: "D", StartLine: 1, EndLine: 1, Level: "warn", Message: "m"},
			Annotation{Path: "D", StartLine: 1, EndLine: 1, Level: "warning", Message: "m"}},
		{"unknown level", Annotation{Path: "D", StartLine: 1, EndLine: 1, Level: "critical", Message: "m"},
			Annotation{Path: "D", StartLine: 1, EndLine: 1, Level: "warning", Message: "m"}},
		{"message from title", Annotation{Path: "D", StartLine: 1, EndLine: 1, Title: " t ", Message: "  "},
			Annotation{Path: "D", StartLine: 1, EndLine: 1, Level: "notice", Title: "t", Message: "t"}},
		{"no message at all", Annotation{Path: "D", StartLine: 1, EndLine: 1},
			Annotation{Path: "D", StartLine: 1, EndLine: 1, Level: "notice", Message: "(no message)"}},
		{"NUL and invalid UTF-8", Annotation{Path: "D", StartLine: 1, EndLine: 1, Title: "a\x00b", Message: "\xfe\xff"},
			Annotation{Path: "D", StartLine: 1, EndLine: 1, Level: "notice", Title: "ab", Message: "\uFFFD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cleanAnnotation(tt.in, ""); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestCleanLimits(t *testing.T) {
	a := cleanAnnotation(Annotation{
		Title:      strings.Repeat("界", 400),
		Message:    strings.Repeat("é", 40000),
		RawDetails: strings.Repeat("x", 70000),
	}, "")
	if n := utf8.RuneCountInString(a.Title); n != MaxTitleRunes || !strings.HasSuffix(a.Title, "…") {
		t.Errorf("title: %d characters", n)
	}
	for name, s := range map[string]string{"message": a.Message, "raw_details": a.RawDetails} {
		if len(s) > MaxMessageBytes || len(s) < MaxMessageBytes-4 || !utf8.ValidString(s) {
			t.Errorf("%s: %d bytes, valid %v", name, len(s), utf8.ValidString(s))
		}
	}
	o := cleanOutput(Output{Summary: strings.Repeat("€", 30000), Text: "short"}, "fallback")
	if o.Title != "fallback" || len(o.Summary) > MaxOutputBytes || !utf8.ValidString(o.Summary) || o.Text != "short" {
		t.Errorf("output: title %q, summary %d bytes", o.Title, len(o.Summary))
	}
	if o := cleanOutput(Output{Title: "t"}, "f"); o.Summary != "t" {
		t.Errorf("empty summary became %q", o.Summary)
	}
	if got := truncateRunes("abc", 3); got != "abc" {
		t.Errorf("truncateRunes = %q", got)
	}
	if got := truncateRunes("abcd", 3); got != "ab…" {
		t.Errorf("truncateRunes = %q", got)
	}
}
