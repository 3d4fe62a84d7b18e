// Package testreport reads the test report files that a test stage leaves in
// its filesystem (JUnit XML, `go test -json`) and sums them up into the
// result types that reporters show.
//
// Parsing is bounded: each test keeps at most MaxOutput bytes of output, a
// report keeps at most MaxCases cases (suite counts stay exact past that), and
// malformed input is an error, never a panic.
package testreport

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stagegate/stagegate/internal/result"
)

// Limits that keep the work and memory of parsing a report bounded.
const (
	// MaxOutput is the most output kept per test case (its head and tail).
	MaxOutput = 8 << 10
	// MaxMessage is the longest failure message Summarize returns.
	MaxMessage = 4 << 10
	// MaxCases is the most test cases a Report keeps; later cases are still
	// counted in Suites and in Report.Dropped.
	MaxCases = 100_000
	// maxRetained bounds the Output kept across all cases of one report.
	maxRetained = 64 << 20
)

// Case statuses.
const (
	StatusPassed  = "passed"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
)

// Report formats.
const (
	FormatJUnit  = "junit"
	FormatGoTest = "go-test-json"
)

// Case is one test case of a report.
type Case struct {
	result.TestCase
	// Status is StatusPassed, StatusFailed or StatusSkipped.
	Status string
	// Package is the Go package (go test -json) or the JUnit classname.
	// For Go, File is then relative to that package's directory (see
	// ResolveGoFile); it is empty when File is not (e.g. a build failure,
	// whose paths are relative to where go test ran).
	Package string
	// Output is what the test printed (JUnit: the failure or skip text and
	// system-out/err), for failed and skipped cases only, at most MaxOutput
	// bytes: the head and the tail, with a marker where output was dropped.
	Output string
}

// Report is one parsed report file.
type Report struct {
	Path string
	// Format is FormatJUnit or FormatGoTest.
	Format string
	// Suites counts every test of the report, one entry per suite name
	// (JUnit testsuite, Go package), in the order first seen.
	Suites []result.Suite
	// Cases are the report's test cases, at most MaxCases.
	Cases []Case
	// Dropped counts the cases past MaxCases that were counted but not kept.
	Dropped int
}

// ParseError says where a report file is malformed.
type ParseError struct {
	Path   string
	Format string
	// Line is 1-based; 0 when unknown. Offset is the byte offset of the
	// line (go test -json) or of the error (XML); -1 when unknown.
	Line   int
	Offset int64
	Err    error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	b.WriteString(": malformed ")
	b.WriteString(e.Format)
	if e.Line > 0 {
		fmt.Fprintf(&b, " at line %d", e.Line)
		if e.Offset >= 0 {
			fmt.Fprintf(&b, " (byte offset %d)", e.Offset)
		}
	} else if e.Offset >= 0 {
		fmt.Fprintf(&b, " at byte offset %d", e.Offset)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Parse reads one report file. The format is told from the content, not the
// name: JUnit XML (a <testsuites> or <testsuite> root) or a `go test -json`
// stream. path only names the file in the report and in errors.
func Parse(path string, data []byte) (*Report, error) {
	body := bytes.TrimPrefix(data, utf8BOM)
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%s: empty test report", path)
	}
	switch trimmed[0] {
	case '<':
		return parseJUnit(path, body)
	case '{':
		return parseGoTest(path, body)
	}
	if looksLikeGoTest(body) {
		return parseGoTest(path, body)
	}
	return nil, fmt.Errorf("%s: not a test report: want JUnit XML or go test -json output", path)
}

// looksLikeGoTest reports whether a go test -json event line appears early in
// data that starts with something else (e.g. `go: downloading ...` lines
// written to the same file).
func looksLikeGoTest(data []byte) bool {
	if len(data) > 1<<20 {
		data = data[:1<<20]
	}
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSpace(line)
		if bytes.HasPrefix(line, []byte("{")) && bytes.Contains(line, []byte(`"Action"`)) {
			return true
		}
	}
	return false
}

// ResolveGoFile maps the file of a Go test location ("foo_test.go", relative
// to the package directory, as go test prints it) to a path relative to the
// repository root, given the module path of the repository's go.mod. When pkg
// is not in that module (or file is absolute) it returns file unchanged.
func ResolveGoFile(modulePath, pkg, file string) string {
	if modulePath == "" || file == "" || strings.HasPrefix(file, "/") {
		return file
	}
	if pkg != modulePath && !strings.HasPrefix(pkg, modulePath+"/") {
		return file
	}
	return strings.TrimPrefix(path.Join(strings.TrimPrefix(pkg, modulePath), file), "/")
}

// ResolveGoFiles rewrites the File of each case that has a Package and a bare
// Go file name (as go test prints it) with ResolveGoFile. Files that already
// hold a directory are left alone, so calling it twice changes nothing.
func (r *Report) ResolveGoFiles(modulePath string) {
	for i := range r.Cases {
		c := &r.Cases[i]
		if c.Package == "" || !strings.HasSuffix(c.File, ".go") || strings.ContainsAny(c.File, `/\`) {
			continue
		}
		c.File = ResolveGoFile(modulePath, c.Package, c.File)
	}
}

// ModulePath returns the module path declared by a go.mod file, or "" when
// it declares none. (golang.org/x/mod is not a dependency of this module, so
// this is a scan of the module directive.)
func ModulePath(goMod []byte) string {
	inBlock := false
	for _, line := range strings.Split(string(bytes.TrimPrefix(goMod, utf8BOM)), "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if inBlock {
			if line == ")" {
				inBlock = false
			} else if line != "" {
				return unquoteModule(line)
			}
			continue
		}
		rest, ok := strings.CutPrefix(line, "module")
		if !ok || rest == "" || !strings.ContainsRune(" \t(\"`", rune(rest[0])) {
			continue
		}
		rest = strings.TrimSpace(rest)
		if rest == "(" {
			inBlock = true
			continue
		}
		return unquoteModule(rest)
	}
	return ""
}

func unquoteModule(s string) string {
	if s != "" && (s[0] == '"' || s[0] == '`') {
		if u, err := strconv.Unquote(s); err == nil {
			return u
		}
		return ""
	}
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// Summarize merges reports: suites with the same name are summed (in the
// order first seen), slow holds the `slowest` slowest cases that ran (longest
// first, ties by name; cases without a duration are left out) and failed every
// failed case, in report order, its message cut to MaxMessage bytes.
func Summarize(reports []*Report, slowest int) (suites []result.Suite, slow []result.TestCase, failed []result.TestCase) {
	var m suiteMerger
	var ran []result.TestCase
	for _, r := range reports {
		if r == nil {
			continue
		}
		for _, s := range r.Suites {
			m.add(s)
		}
		for _, c := range r.Cases {
			switch c.Status {
			case StatusFailed:
				tc := c.TestCase
				tc.Message = truncate(tc.Message, MaxMessage)
				failed = append(failed, tc)
			case StatusSkipped:
				continue
			}
			if slowest > 0 && c.Duration > 0 {
				tc := c.TestCase
				tc.Message = truncate(tc.Message, MaxMessage)
				ran = append(ran, tc)
			}
		}
	}
	sort.SliceStable(ran, func(i, j int) bool {
		a, b := ran[i], ran[j]
		if a.Duration != b.Duration {
			return a.Duration > b.Duration
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Suite < b.Suite
	})
	if len(ran) > slowest {
		ran = ran[:slowest]
	}
	if len(ran) > 0 {
		slow = ran
	}
	return m.suites, slow, failed
}

// suiteMerger sums suites by name, keeping the order names were first seen.
type suiteMerger struct {
	suites []result.Suite
	index  map[string]int
}

func (m *suiteMerger) add(s result.Suite) {
	if m.index == nil {
		m.index = map[string]int{}
	}
	i, ok := m.index[s.Name]
	if !ok {
		m.index[s.Name] = len(m.suites)
		m.suites = append(m.suites, s)
		return
	}
	t := &m.suites[i]
	t.Passed += s.Passed
	t.Failed += s.Failed
	t.Skipped += s.Skipped
	t.Duration += s.Duration
}

// truncate cuts s to at most max bytes on a rune boundary, marking the cut.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const mark = " [...]"
	n := max - len(mark)
	if n < 0 {
		n = 0
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + mark
}
