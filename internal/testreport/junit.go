package testreport

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stagegate/stagegate/internal/result"
)

// jSuite is a <testsuite> (or the <testsuites> root) being read.
type jSuite struct {
	name     string
	depth    int
	root     bool // the <testsuites> element
	attrs    result.Suite
	hasAttrs bool
	timeAttr float64
	hasTime  bool
	counts   result.Suite
	cases    int
	children int
	caseTime float64
}

// jCase is a <testcase> being read.
type jCase struct {
	depth      int
	suite      string
	classname  string
	name       string
	time       float64
	file       string
	line       int
	status     string
	msg        string // message attribute of the first failure/error/skipped
	text       capText
	sysout     capText
	target     *capText
	childDepth int
}

// maxDepth bounds the nesting of XML elements (and so of test suites).
const maxDepth = 1000

func parseJUnit(filePath string, data []byte) (*Report, error) {
	rep := &Report{Path: filePath, Format: FormatJUnit}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.CharsetReader = charsetReader
	d.Entity = xml.HTMLEntity
	var merger suiteMerger
	var stack []*jSuite
	var tc *jCase
	retained := 0
	depth := 0
	rootSeen := false
	fail := func(err error) (*Report, error) {
		line, _ := d.InputPos()
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			line = se.Line
			err = errors.New(se.Msg)
		}
		return nil, &ParseError{Path: filePath, Format: "JUnit XML", Line: line, Offset: d.InputOffset(), Err: err}
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > maxDepth {
				return fail(fmt.Errorf("elements nested more than %d deep", maxDepth))
			}
			name := t.Name.Local
			if !rootSeen {
				rootSeen = true
				if name != "testsuites" && name != "testsuite" {
					return fail(fmt.Errorf("root element is <%s>, want <testsuites> or <testsuite>", name))
				}
			}
			switch {
			case tc != nil:
				if tc.childDepth != 0 {
					break // inside a child of the testcase: ignore
				}
				tc.childDepth = depth
				switch name {
				case "failure", "error":
					if tc.status != StatusFailed {
						tc.status = StatusFailed
						tc.msg = truncate(attr(t, "message"), MaxOutput)
						if !tc.text.empty() { // an earlier <skipped>
							tc.text = capText{}
						}
					}
					tc.target = &tc.text
				case "skipped":
					if tc.status == StatusPassed {
						tc.status = StatusSkipped
						tc.msg = truncate(attr(t, "message"), MaxOutput)
						tc.target = &tc.text
					}
				case "system-out", "system-err":
					tc.target = &tc.sysout
				}
			case name == "testsuite" || name == "testsuites":
				s := &jSuite{name: attr(t, "name"), depth: depth, root: name == "testsuites"}
				if len(stack) > 0 {
					parent := stack[len(stack)-1]
					parent.children++
					if s.name == "" {
						s.name = parent.name
					}
				}
				if s.name == "" && !s.root {
					s.name = path.Base(filePath)
				}
				s.timeAttr, s.hasTime = parseSeconds(attr(t, "time"))
				tests, hasTests := atoi(attr(t, "tests"))
				failures, _ := atoi(attr(t, "failures"))
				errs, _ := atoi(attr(t, "errors"))
				skipped, ok := atoi(attr(t, "skipped"))
				if !ok {
					skipped, _ = atoi(attr(t, "disabled"))
				}
				if hasTests {
					s.hasAttrs = true
					s.attrs = result.Suite{Failed: failures + errs, Skipped: skipped}
					s.attrs.Passed = max(0, tests-s.attrs.Failed-s.attrs.Skipped)
				}
				stack = append(stack, s)
			case name == "testcase":
				suite := path.Base(filePath)
				if len(stack) > 0 {
					top := stack[len(stack)-1]
					top.cases++
					if top.name != "" {
						suite = top.name
					}
				}
				tc = &jCase{depth: depth, suite: suite, status: StatusPassed,
					classname: attr(t, "classname"), name: attr(t, "name"),
					file: attr(t, "file")}
				if tc.file == "" {
					tc.file = attr(t, "filepath")
				}
				tc.time, _ = parseSeconds(attr(t, "time"))
				if n, ok := atoi(attr(t, "line")); ok && n > 0 {
					tc.line = n
				}
				// googletest: result="skipped" / status="notrun".
				if r := attr(t, "result"); r == "skipped" || r == "suppressed" || attr(t, "status") == "notrun" {
					tc.status = StatusSkipped
				}
			}
		case xml.EndElement:
			switch {
			case tc != nil && depth == tc.depth:
				if len(stack) > 0 {
					top := stack[len(stack)-1]
					top.caseTime += tc.time
					switch tc.status {
					case StatusPassed:
						top.counts.Passed++
					case StatusFailed:
						top.counts.Failed++
					case StatusSkipped:
						top.counts.Skipped++
					}
				}
				if len(rep.Cases) >= MaxCases {
					rep.Dropped++
				} else {
					c := tc.finish()
					if retained+len(c.Output) > maxRetained {
						c.Output = ""
					}
					retained += len(c.Output)
					rep.Cases = append(rep.Cases, c)
				}
				tc = nil
			case tc != nil && depth == tc.childDepth:
				tc.childDepth = 0
				tc.target = nil
			case tc == nil && len(stack) > 0 && depth == stack[len(stack)-1].depth:
				s := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				switch {
				case s.cases > 0:
					out := s.counts
					out.Name = s.name
					out.Duration = s.caseTime
					if s.hasTime && !s.root {
						out.Duration = s.timeAttr
					}
					merger.add(out)
				case s.children == 0 && !s.root && s.hasAttrs && s.attrs.Passed+s.attrs.Failed+s.attrs.Skipped > 0:
					// A suite given only as counts.
					out := s.attrs
					out.Name = s.name
					out.Duration = s.timeAttr
					merger.add(out)
				}
			}
			depth--
		case xml.CharData:
			if tc != nil && tc.target != nil {
				tc.target.write(t)
			}
		}
	}
	if !rootSeen {
		return nil, &ParseError{Path: filePath, Format: "JUnit XML", Offset: -1, Err: errors.New("no XML element found")}
	}
	rep.Suites = merger.suites
	// Like go test -json: a parent test that failed through its subtests
	// (gotestsum's JUnit) borrows their location.
	fillFromSubtests(rep.Cases)
	return rep, nil
}

// finish turns a read testcase into a Case: message, location and output.
func (c *jCase) finish() Case {
	out := Case{
		TestCase: result.TestCase{Suite: c.suite, Name: c.name, Duration: c.time},
		Status:   c.status,
		Package:  c.classname,
	}
	if c.name == "" {
		out.Name = c.classname
	}
	out.File, out.Line = c.file, c.line
	if c.status == StatusPassed {
		return out
	}
	text := c.text.String()
	detail := text
	if strings.TrimSpace(detail) == "" {
		detail = c.msg
	}
	var msg string
	var loc location
	goStyle := looksLikeGoOutput(detail)
	if goStyle {
		msg, loc = cleanGoOutput(detail)
	} else {
		msg = strings.TrimSpace(detail)
		if c.status == StatusFailed {
			loc = lastLocation(findLocations(detail))
		}
	}
	if m := strings.TrimSpace(c.msg); m != "" && !genericMessage(m) && !looksLikeGoOutput(m) {
		msg = m
	}
	out.Message = truncate(msg, MaxOutput)
	if c.file != "" {
		// The file attribute usually names the test's file and line its
		// definition: a location in the same file in the text is where it
		// failed.
		for _, l := range reverse(findLocations(detail)) {
			if sameFile(l.file, c.file) {
				out.Line = l.line
				break
			}
		}
	} else if loc.file != "" {
		out.File, out.Line = loc.file, loc.line
	}
	var o capText
	o.writeString(text)
	if !c.sysout.empty() {
		if !o.empty() {
			o.writeString("\n")
		}
		o.writeString(c.sysout.String())
	}
	out.Output = o.String()
	return out
}

// genericMessage reports message attributes that say nothing (gotestsum
// writes "Failed").
func genericMessage(m string) bool {
	switch strings.ToLower(m) {
	case "failed", "failure", "error", "skipped", "test failed":
		return true
	}
	return false
}

func reverse(l []textLocation) []textLocation {
	for i, j := 0, len(l)-1; i < j; i, j = i+1, j-1 {
		l[i], l[j] = l[j], l[i]
	}
	return l
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func atoi(s string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// parseSeconds reads a time attribute: seconds, possibly with thousands
// separators ("1,234.5").
func parseSeconds(s string) (float64, bool) {
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", "")
	if s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsNaN(f) || f > 1e12 {
		return 0, false
	}
	return f, true
}

// charsetReader accepts the single-byte encodings JUnit writers use besides
// UTF-8.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "windows-1252", "cp1252":
		b, err := io.ReadAll(input)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 0, len(b))
		for _, c := range b {
			out = utf8.AppendRune(out, rune(c))
		}
		return bytes.NewReader(out), nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", charset)
}
