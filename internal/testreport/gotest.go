package testreport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/stagegate/stagegate/internal/result"
)

// goEvent is one line of `go test -json` (cmd/test2json's TestEvent, plus
// the build events of `go test -json` itself).
type goEvent struct {
	Time        string
	Action      string
	Package     string
	Test        string
	Elapsed     *float64
	Output      string
	ImportPath  string
	FailedBuild string
}

type goTest struct {
	name    string
	out     capText
	started string // Time of the run event
}

type goPkg struct {
	suite  result.Suite
	active map[string]*goTest
	out    capText
	done   bool
	// failed counts this package's failed tests since its last start.
	failed int
}

type goTestParser struct {
	rep      *Report
	pkgs     map[string]*goPkg
	order    []*goPkg
	build    map[string]*capText
	active   int
	retained int
}

// Names of the cases made for package failures that no test accounts for.
const (
	BuildFailedCase   = "[build failed]"
	PackageFailedCase = "[package failed]"
)

const maxBuildOutputs = 10_000

func parseGoTest(path string, data []byte) (*Report, error) {
	p := &goTestParser{
		rep:   &Report{Path: path, Format: FormatGoTest},
		pkgs:  map[string]*goPkg{},
		build: map[string]*capText{},
	}
	events := 0
	lineNo := 0
	for off := 0; off < len(data); {
		line := data[off:]
		next := len(data)
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
			next = off + i + 1
		}
		lineNo++
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] == '{' {
			var ev goEvent
			if err := json.Unmarshal(t, &ev); err != nil {
				switch {
				case next == len(data) && !bytes.HasSuffix(data, []byte("\n")):
					err = fmt.Errorf("the last line is cut short, the file looks truncated: %w", err)
				case events == 0:
					err = fmt.Errorf("not a go test -json event stream: %w", err)
				}
				return nil, &ParseError{Path: path, Format: "go test -json", Line: lineNo, Offset: int64(off), Err: err}
			}
			if ev.Action == "" {
				return nil, &ParseError{Path: path, Format: "go test -json", Line: lineNo, Offset: int64(off), Err: errors.New(`JSON object has no "Action": not a go test -json event`)}
			}
			events++
			p.handle(&ev)
		}
		// Other lines (go: downloading ..., stderr mixed in) are not events.
		off = next
	}
	if events == 0 {
		return nil, &ParseError{Path: path, Format: "go test -json", Line: 0, Offset: -1, Err: errors.New("no go test -json events found")}
	}
	p.finishAll()
	fillFromSubtests(p.rep.Cases)
	return p.rep, nil
}

func (p *goTestParser) pkg(name string) *goPkg {
	if pk := p.pkgs[name]; pk != nil {
		return pk
	}
	pk := &goPkg{suite: result.Suite{Name: name}, active: map[string]*goTest{}}
	p.pkgs[name] = pk
	p.order = append(p.order, pk)
	return pk
}

func (p *goTestParser) handle(ev *goEvent) {
	switch ev.Action {
	case "build-output":
		b := p.build[ev.ImportPath]
		if b == nil {
			if len(p.build) >= maxBuildOutputs {
				return
			}
			b = &capText{}
			p.build[ev.ImportPath] = b
		}
		b.writeString(ev.Output)
		return
	}
	if ev.Package == "" {
		return
	}
	pk := p.pkg(ev.Package)
	if ev.Test == "" {
		switch ev.Action {
		case "start":
			pk.done = false
			pk.failed = 0
		case "output":
			pk.out.writeString(ev.Output)
		case "pass", "skip", "fail":
			p.finishPackage(pk, ev)
		}
		return
	}
	switch ev.Action {
	case "run":
		if pk.active[ev.Test] == nil && p.active < MaxCases {
			pk.active[ev.Test] = &goTest{name: ev.Test, started: ev.Time}
			p.active++
		}
	case "output":
		if t := pk.active[ev.Test]; t != nil {
			t.out.writeString(ev.Output)
		}
	case "pass", "fail", "skip":
		t := pk.active[ev.Test]
		if t != nil {
			delete(pk.active, ev.Test)
			p.active--
		} else {
			t = &goTest{name: ev.Test}
		}
		status := StatusPassed
		switch ev.Action {
		case "fail":
			status = StatusFailed
		case "skip":
			status = StatusSkipped
		}
		var elapsed float64
		if ev.Elapsed != nil {
			elapsed = *ev.Elapsed
		}
		p.finishTest(pk, t, status, elapsed, "")
	}
}

// finishTest counts a test and keeps it as a case while there is room,
// returning the case kept, or nil.
func (p *goTestParser) finishTest(pk *goPkg, t *goTest, status string, elapsed float64, fallback string) *Case {
	switch status {
	case StatusPassed:
		pk.suite.Passed++
	case StatusFailed:
		pk.suite.Failed++
		pk.failed++
	case StatusSkipped:
		pk.suite.Skipped++
	}
	if len(p.rep.Cases) >= MaxCases {
		p.rep.Dropped++
		return nil
	}
	c := Case{
		TestCase: result.TestCase{Suite: pk.suite.Name, Name: t.name, Duration: nonNegative(elapsed)},
		Status:   status,
		Package:  pk.suite.Name,
	}
	if status != StatusPassed {
		out := t.out.String()
		msg, loc := cleanGoOutput(out)
		if msg == "" {
			msg = fallback
		}
		c.Message = truncate(msg, MaxOutput)
		c.File, c.Line = loc.file, loc.line
		if p.retained+len(out) <= maxRetained {
			c.Output = out
			p.retained += len(out)
		}
	}
	p.rep.Cases = append(p.rep.Cases, c)
	return &p.rep.Cases[len(p.rep.Cases)-1]
}

// finishPackage ends a package: tests still running when it failed (a
// timeout, a crash, os.Exit) failed; a failed package none of whose tests
// failed (its build, TestMain, init) gets a case of its own.
func (p *goTestParser) finishPackage(pk *goPkg, ev *goEvent) {
	if ev.Elapsed != nil {
		pk.suite.Duration += nonNegative(*ev.Elapsed)
	}
	p.failUnfinished(pk, ev.Action == "fail", ev.Time, "test did not finish: its package failed")
	if ev.Action == "fail" && pk.failed == 0 {
		t := &goTest{name: PackageFailedCase, out: pk.out}
		fallback := "package failed"
		if ev.FailedBuild != "" {
			t.name, t.out, fallback = BuildFailedCase, capText{}, "build failed"
			if b := p.build[ev.FailedBuild]; b != nil {
				t.out = *b
			}
		}
		if c := p.finishTest(pk, t, StatusFailed, 0, fallback); c != nil && ev.FailedBuild != "" {
			// Compiler paths are relative to where go test ran, not to
			// the package directory.
			c.Package = ""
		}
	}
	pk.out = capText{}
	pk.done = true
}

// failUnfinished ends the tests of pk still running: as failed when fail,
// else it drops them.
func (p *goTestParser) failUnfinished(pk *goPkg, fail bool, end, why string) {
	if len(pk.active) == 0 {
		return
	}
	names := make([]string, 0, len(pk.active))
	for n := range pk.active {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t := pk.active[n]
		delete(pk.active, n)
		p.active--
		if fail {
			p.finishTest(pk, t, StatusFailed, elapsedBetween(t.started, end), why)
		}
	}
}

// finishAll ends the packages the stream left unfinished: their running
// tests failed since their result never came.
func (p *goTestParser) finishAll() {
	for _, pk := range p.order {
		if !pk.done {
			p.failUnfinished(pk, true, "", "test did not finish: the report ends before its result")
		}
		s := pk.suite
		if s.Passed+s.Failed+s.Skipped > 0 {
			p.rep.Suites = append(p.rep.Suites, s)
		}
	}
}

func elapsedBetween(start, end string) float64 {
	if start == "" || end == "" {
		return 0
	}
	s, err1 := time.Parse(time.RFC3339Nano, start)
	e, err2 := time.Parse(time.RFC3339Nano, end)
	if err1 != nil || err2 != nil || e.Before(s) {
		return 0
	}
	return e.Sub(s).Seconds()
}

func nonNegative(f float64) float64 {
	if f > 0 && f < 1e12 {
		return f
	}
	return 0
}

// fillFromSubtests gives a failed test that has no location of its own (a
// parent that failed because a subtest did) the location of its first failed
// subtest, and that subtest's message when it has none.
func fillFromSubtests(cases []Case) {
	type key struct{ suite, name string }
	missing := map[key]int{}
	for i, c := range cases {
		if c.Status == StatusFailed && c.File == "" {
			missing[key{c.Suite, c.Name}] = i
		}
	}
	if len(missing) == 0 {
		return
	}
	for _, c := range cases {
		if c.Status != StatusFailed || c.File == "" {
			continue
		}
		name := c.Name
		for {
			i := strings.LastIndexByte(name, '/')
			if i < 0 {
				break
			}
			name = name[:i]
			k := key{c.Suite, name}
			j, ok := missing[k]
			if !ok {
				continue
			}
			parent := &cases[j]
			parent.File, parent.Line = c.File, c.Line
			if parent.Message == "" {
				parent.Message = truncate(c.Name+": "+c.Message, MaxOutput)
			}
			delete(missing, k)
		}
	}
}
