package testreport

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// capText keeps the head and the tail of a text written piece by piece, so
// that what it returns is at most MaxOutput bytes whatever was written.
type capText struct {
	head    []byte
	tail    []byte
	dropped int64 // bytes written between head and tail and not kept
}

const (
	headMax = 2 << 10
	// markMax is more than the longest omission marker.
	markMax = 48
	tailMax = MaxOutput - headMax - markMax
)

func (c *capText) write(p []byte) {
	if len(c.tail) == 0 && c.dropped == 0 && len(c.head) < headMax {
		n := min(headMax-len(c.head), len(p))
		c.head = append(c.head, p[:n]...)
		p = p[n:]
	}
	if len(p) == 0 {
		return
	}
	if len(p) >= tailMax {
		c.dropped += int64(len(c.tail) + len(p) - tailMax)
		c.tail = append(c.tail[:0], p[len(p)-tailMax:]...)
		return
	}
	c.tail = append(c.tail, p...)
	if len(c.tail) > 2*tailMax {
		cut := len(c.tail) - tailMax
		c.dropped += int64(cut)
		c.tail = append(c.tail[:0], c.tail[cut:]...)
	}
}

func (c *capText) writeString(s string) { c.write([]byte(s)) }

func (c *capText) empty() bool { return len(c.head) == 0 && len(c.tail) == 0 }

// String returns the kept text: all of it when it fits in MaxOutput bytes,
// else the head, a marker and the tail, cut at line (or rune) boundaries.
func (c *capText) String() string {
	head, tail, dropped := c.head, c.tail, c.dropped
	if len(tail) > tailMax {
		dropped += int64(len(tail) - tailMax)
		tail = tail[len(tail)-tailMax:]
	}
	if dropped == 0 {
		return string(head) + string(tail)
	}
	// End the head at a line end and start the tail at a line start when
	// that loses little; never split a rune.
	if i := bytes.LastIndexByte(head, '\n'); i >= len(head)/2 {
		dropped += int64(len(head) - i - 1)
		head = head[:i+1]
	}
	for len(head) > 0 && !utf8.FullRune(head[lastRuneStart(head):]) {
		k := lastRuneStart(head)
		dropped += int64(len(head) - k)
		head = head[:k]
	}
	if i := bytes.IndexByte(tail, '\n'); i >= 0 && i < len(tail)/2 {
		dropped += int64(i + 1)
		tail = tail[i+1:]
	}
	for len(tail) > 0 && !utf8.RuneStart(tail[0]) {
		dropped++
		tail = tail[1:]
	}
	var b strings.Builder
	b.Write(head)
	if len(head) > 0 && head[len(head)-1] != '\n' {
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "[... %d bytes omitted ...]\n", dropped)
	b.Write(tail)
	return b.String()
}

func lastRuneStart(b []byte) int {
	i := len(b) - 1
	for i > 0 && len(b)-i < utf8.UTFMax && !utf8.RuneStart(b[i]) {
		i--
	}
	return i
}

// location is a file:line found in a test's output.
type location struct {
	file string
	line int
}

var (
	// goLogLine is a line written by t.Log/t.Error ("    foo_test.go:42: msg")
	// or by the compiler ("pkg/foo_test.go:6:14: undefined: x").
	goLogLine = regexp.MustCompile(`^ *([^\s:]+\.go):(\d+):(?:\d+:)?(?: |$)`)
	// goFrame is a stack frame in a Go test file ("\t/src/pkg/foo_test.go:9 +0x10").
	goFrame     = regexp.MustCompile(`^\t(\S+_test\.go):(\d+)(?: \+0x[0-9a-f]+)?$`)
	goGoroutine = regexp.MustCompile(`^goroutine \d+ \[`)

	// sourceLoc is path/to/file.ext:LINE followed by ':' (a column or a
	// message), ')' or a space, as test tools and compilers print them.
	sourceLoc = regexp.MustCompile(`(?m)(?:^|[\s("'\[])((?:[A-Za-z]:)?[\w@+.\-/\\]*\w\.(?:go|py|pyx|js|jsx|mjs|cjs|ts|tsx|mts|cts|vue|rb|java|kt|kts|scala|groovy|rs|c|cc|cpp|cxx|h|hh|hpp|cs|fs|vb|php|swift|m|mm|ex|exs|erl|hs|ml|lua|pl|pm|t|sh|bats|dart|zig|nim|jl|r|R)):(\d+)(?::\d+)?(?:[:)\s]|$)`)
	// pyFrame is a line of a Python traceback.
	pyFrame = regexp.MustCompile(`File "([^"\n]+)", line (\d+)`)
)

// isGoFraming reports lines that go test writes around a test's own output.
func isGoFraming(l string) bool {
	t := strings.TrimLeft(l, " ")
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- FAIL:", "--- PASS:", "--- SKIP:", "--- BENCH:"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	if t == "FAIL" || t == "PASS" || strings.HasPrefix(t, "FAIL\t") || strings.HasPrefix(t, "ok  \t") || strings.HasPrefix(t, "# ") {
		return true
	}
	return false
}

// looksLikeGoOutput reports whether text is go test output (as gotestsum puts
// it into a JUnit failure).
func looksLikeGoOutput(text string) bool {
	if strings.Contains(text, "=== RUN") || strings.Contains(text, "--- FAIL:") || strings.Contains(text, "--- SKIP:") {
		return true
	}
	for _, l := range strings.Split(text, "\n") {
		if goLogLine.MatchString(l) {
			return true
		}
	}
	return false
}

func dedent(s string, n int) string {
	for i := 0; i < n && strings.HasPrefix(s, " "); i++ {
		s = s[1:]
	}
	return s
}

// cleanGoOutput turns what one Go test printed into a failure message and
// the location it failed at: the last t.Error/t.Log style "file.go:N:" line,
// else (a panic, a timeout) the first frame in a _test.go file of the stack
// trace. go test's own framing lines are dropped, as is the goroutine dump
// after a panic; the chosen location's "file.go:N: " prefix is cut from the
// message since the location says it.
func cleanGoOutput(text string) (msg string, loc location) {
	type entry struct {
		prefix string // "file.go:N: " of a log line; "" for other lines
		lines  []string
		loc    location
	}
	var entries []entry
	var frame location
	inTrace := false
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimRight(l, "\r")
		if isGoFraming(l) {
			continue
		}
		if goGoroutine.MatchString(l) {
			inTrace = true
		}
		if inTrace {
			if frame.file == "" {
				if m := goFrame.FindStringSubmatch(l); m != nil {
					frame.file = path.Base(strings.ReplaceAll(m[1], `\`, "/"))
					frame.line, _ = strconv.Atoi(m[2])
				}
			}
			continue
		}
		d := dedent(l, 4)
		if m := goLogLine.FindStringSubmatchIndex(d); m != nil {
			n, _ := strconv.Atoi(d[m[4]:m[5]])
			entries = append(entries, entry{
				prefix: d[:m[1]],
				lines:  []string{d[m[1]:]},
				loc:    location{file: strings.TrimPrefix(d[m[2]:m[3]], "./"), line: n},
			})
			continue
		}
		if k := len(entries); k > 0 && entries[k-1].prefix != "" {
			// Continuation lines of a log entry are indented once more.
			entries[k-1].lines = append(entries[k-1].lines, dedent(d, 4))
			continue
		}
		if k := len(entries); k > 0 {
			entries[k-1].lines = append(entries[k-1].lines, d)
		} else {
			entries = append(entries, entry{lines: []string{d}})
		}
	}
	chosen := -1
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].prefix != "" {
			chosen = i
			break
		}
	}
	if chosen >= 0 {
		loc = entries[chosen].loc
	} else {
		loc = frame
	}
	var b strings.Builder
	for i, e := range entries {
		for j, l := range e.lines {
			if j == 0 && e.prefix != "" && i != chosen {
				b.WriteString(strings.TrimLeft(e.prefix, " "))
			}
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return strings.Trim(b.String(), "\n \t"), loc
}

// textLocation is a location found in a failure text, with where it was.
type textLocation struct {
	location
	pos int
}

// findLocations returns the source locations in text, in order: file.ext:N:
// as compilers and test tools print them and Python traceback frames.
func findLocations(text string) []textLocation {
	var out []textLocation
	for _, m := range sourceLoc.FindAllStringSubmatchIndex(text, -1) {
		n, err := strconv.Atoi(text[m[4]:m[5]])
		if err != nil || n <= 0 {
			continue
		}
		out = append(out, textLocation{location{strings.TrimPrefix(text[m[2]:m[3]], "./"), n}, m[2]})
	}
	for _, m := range pyFrame.FindAllStringSubmatchIndex(text, -1) {
		n, err := strconv.Atoi(text[m[4]:m[5]])
		if err != nil || n <= 0 {
			continue
		}
		out = append(out, textLocation{location{text[m[2]:m[3]], n}, m[2]})
	}
	// Two kinds of matches: put them back in text order.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].pos < out[j-1].pos; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// lastLocation picks the last location of a failure text (the innermost
// frame of a traceback, the last assertion), passing over library code (site
// packages, node_modules, the Go and Python standard libraries) when the text
// names anything else.
func lastLocation(locs []textLocation) location {
	for i := len(locs) - 1; i >= 0; i-- {
		if !isLibraryPath(locs[i].file) {
			return locs[i].location
		}
	}
	if len(locs) > 0 {
		return locs[len(locs)-1].location
	}
	return location{}
}

var libraryPath = regexp.MustCompile(`(^<|/site-packages/|/dist-packages/|/node_modules/|/lib/python\d|^/usr/lib/|^/usr/local/lib/|/go/src/(runtime|testing)/|/pkg/mod/|^node:)`)

func isLibraryPath(p string) bool {
	return libraryPath.MatchString(strings.ReplaceAll(p, `\`, "/"))
}

// sameFile reports whether two paths name the same file, one possibly being
// the other with more leading directories (an absolute path in a traceback,
// a repository-relative one in an attribute).
func sameFile(a, b string) bool {
	a = strings.TrimPrefix(strings.ReplaceAll(a, `\`, "/"), "./")
	b = strings.TrimPrefix(strings.ReplaceAll(b, `\`, "/"), "./")
	if a == "" || b == "" {
		return false
	}
	return a == b || strings.HasSuffix(a, "/"+b) || strings.HasSuffix(b, "/"+a)
}
