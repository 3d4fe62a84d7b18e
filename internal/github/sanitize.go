package github

import (
	"net/url"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/stagegate/stagegate/internal/text"
)

// GitHub's limits on check runs.
const (
	// MaxAnnotationsPerRequest is how many annotations one request may carry.
	MaxAnnotationsPerRequest = 50
	// MaxTitleRunes bounds an annotation's title (255 characters).
	MaxTitleRunes = 255
	// MaxMessageBytes bounds an annotation's message and raw_details
	// ("64 KB"; one byte less, to be safe).
	MaxMessageBytes = 65535
	// MaxOutputBytes bounds output.summary and output.text.
	MaxOutputBytes = 65535
)

// Annotation levels.
const (
	LevelNotice  = "notice"
	LevelWarning = "warning"
	LevelFailure = "failure"
)

// defaultPath is where an annotation without a usable path points.
const defaultPath = "Dockerfile"

// Annotation marks lines of a file in the check run. Lines start at 1;
// columns are kept only on a single-line annotation.
type Annotation struct {
	Path                   string
	StartLine, EndLine     int
	StartColumn, EndColumn int
	// Level is notice, warning or failure ("error" and "warn" are understood).
	Level                      string
	Title, Message, RawDetails string
}

// Output is a check run's page: a title, a Markdown summary and details.
type Output struct {
	Title, Summary, Text string
}

// validText makes s valid UTF-8 without NUL bytes.
func validText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "")
}

// truncateRunes returns at most n runes of s, ending in "…" when cut.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	i := 0
	for j := range s {
		if i == n-1 {
			return s[:j] + "…"
		}
		i++
	}
	return s
}

// truncatedNote ends text that was cut to fit GitHub's limits.
const truncatedNote = "\n… (truncated)"

// truncateBytes returns at most max bytes of s, cut at a rune boundary and
// ending in truncatedNote when cut.
func truncateBytes(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return text.TruncateBytes(s, max-len(truncatedNote)) + truncatedNote
}

// cleanOutput fills and cuts an output so GitHub accepts it: title and
// summary are required, summary and text are limited in bytes. They are
// Markdown, cut as the step summary is (text.TruncateMarkdown), so a cut
// inside a code block does not leave the note in it. fallback titles an
// output that has none.
func cleanOutput(out Output, fallback string) Output {
	out.Title = strings.TrimSpace(truncateRunes(validText(out.Title), MaxTitleRunes))
	if out.Title == "" {
		out.Title = fallback
	}
	out.Summary = text.TruncateMarkdown(validText(out.Summary), MaxOutputBytes, truncatedNote)
	if strings.TrimSpace(out.Summary) == "" {
		out.Summary = out.Title
	}
	out.Text = text.TruncateMarkdown(validText(out.Text), MaxOutputBytes, truncatedNote)
	return out
}

// cleanAnnotation makes a an annotation GitHub accepts. workspace, when set,
// is the checkout's absolute path, to make absolute paths relative to it.
func cleanAnnotation(a Annotation, workspace string) Annotation {
	a.Path = cleanPath(a.Path, workspace)
	a.StartLine = max(a.StartLine, 1)
	a.EndLine = max(a.EndLine, a.StartLine)
	if a.StartLine != a.EndLine || a.StartColumn < 1 {
		a.StartColumn, a.EndColumn = 0, 0
	} else {
		a.EndColumn = max(a.EndColumn, a.StartColumn)
	}
	a.Level = cleanLevel(a.Level)
	a.Title = strings.TrimSpace(truncateRunes(validText(a.Title), MaxTitleRunes))
	a.Message = truncateBytes(validText(a.Message), MaxMessageBytes)
	if strings.TrimSpace(a.Message) == "" {
		a.Message = a.Title
	}
	if a.Message == "" {
		a.Message = "(no message)"
	}
	a.RawDetails = truncateBytes(validText(a.RawDetails), MaxMessageBytes)
	return a
}

func cleanLevel(level string) string {
	switch strings.ToLower(strings.TrimSpace(level)) {
	case LevelFailure, "error", "fatal":
		return LevelFailure
	case LevelWarning, "warn":
		return LevelWarning
	case LevelNotice, "info", "note", "":
		return LevelNotice
	}
	return LevelWarning
}

// cleanPath makes p relative to the repository root with "/" separators.
func cleanPath(p, workspace string) string {
	p = strings.ReplaceAll(validText(strings.TrimSpace(p)), "\\", "/")
	if ws := strings.TrimRight(strings.ReplaceAll(workspace, "\\", "/"), "/"); ws != "" && path.IsAbs(p) {
		if rel, ok := strings.CutPrefix(path.Clean(p), ws+"/"); ok {
			p = rel
		}
	}
	p = path.Clean("/" + p) // also resolves "..", which cannot leave the root
	p = strings.TrimLeft(p, "/")
	if p == "" || p == "." {
		return defaultPath
	}
	return p
}

// validURL reports whether s is an absolute http(s) URL, as details_url
// must be.
func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
