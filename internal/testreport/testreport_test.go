package testreport

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagegate/stagegate/internal/result"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func parseFixture(t testing.TB, name string) *Report {
	t.Helper()
	r, err := Parse(name, readFixture(t, name))
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return r
}

// sourceLine returns line n of a file of a sample project in testdata, the
// file named as a report names it (relative to the project, or absolute in
// the temporary copy the fixtures were generated in).
func sourceLine(t *testing.T, project, file string, n int) string {
	t.Helper()
	if i := strings.Index(file, "/"+project+"/"); i >= 0 {
		file = file[i+len(project)+2:]
	}
	data, err := os.ReadFile(filepath.Join("testdata", project, filepath.FromSlash(file)))
	if err != nil {
		t.Fatalf("source of %s: %v", file, err)
	}
	lines := strings.Split(string(data), "\n")
	if n < 1 || n > len(lines) {
		t.Fatalf("%s has no line %d", file, n)
	}
	return lines[n-1]
}

type wantFailure struct {
	name string
	file string // after ResolveGoFiles; a suffix for absolute paths
	line int
	msg  string // a substring of the message
	src  string // a substring of the source line at file:line
}

func TestParseFixtures(t *testing.T) {
	goSuites := []result.Suite{
		{Name: "example.com/sample/boom", Passed: 1, Failed: 1},
		{Name: "example.com/sample/broken", Failed: 1},
		{Name: "example.com/sample/calc", Passed: 3, Failed: 3, Skipped: 1},
		{Name: "example.com/sample/strutil", Passed: 5, Failed: 2},
	}
	goFailures := []wantFailure{
		{"TestPanic", "boom/boom_test.go", 9, "panic: runtime error: invalid memory address", `_ = Get(m, "k")`},
		{"TestSub", "calc/calc_test.go", 17, "Sub(5, 3) = 8, want 2", `t.Errorf("Sub(5, 3) = %d, want 2", got)`},
		{"TestTable/negative", "calc/calc_test.go", 37, "Add(-1, -1) = -2, want -3", `t.Errorf("Add(%d, %d) = %d, want %d"`},
		// The parent failed only through its subtest: its location.
		{"TestTable", "calc/calc_test.go", 37, "Add(-1, -1) = -2, want -3", `t.Errorf("Add(%d, %d) = %d, want %d"`},
		// The last log line, not the t.Log before it.
		{"TestFatal", "strutil/strutil_test.go", 21, `Shout("a") = "A!", want "A"`, `t.Fatalf("Shout(%q) = %q, want %q"`},
		{"TestMultiline", "strutil/strutil_test.go", 25, "mismatch:\ngot:  \"X!\"\nwant: \"X\"", `t.Errorf("mismatch:`},
	}
	pySuites := []result.Suite{{Name: "pytest", Passed: 4, Failed: 5, Skipped: 1}}
	pyFailures := []wantFailure{
		{"test_sub", "tests/test_calc.py", 13, "assert 8 == 2", "assert sub(5, 3) == 2"},
		{"test_add_table[-1--1--3]", "tests/test_calc.py", 23, "assert -2 == -3", "assert add(a, b) == want"},
		{"test_helper", "tests/test_calc.py", 27, "expected a positive number", "assert x > 0"},
		{"test_uses_broken_fixture", "tests/test_calc.py", 44, "fixture setup failed", `raise RuntimeError("fixture setup failed")`},
	}

	tests := []struct {
		fixture  string
		format   string
		project  string
		suites   []result.Suite
		failures []wantFailure
		// failed counts every failed case, listed above or not.
		failed int
	}{
		{
			fixture: "gotest.json", format: FormatGoTest, project: "gosample",
			suites: goSuites,
			failures: append(goFailures,
				// Compiler output: relative to where go test ran.
				wantFailure{BuildFailedCase, "broken/broken_test.go", 6, "undefined: Three", "Three()"}),
			failed: 7,
		},
		{
			fixture: "gotestsum-junit.xml", format: FormatJUnit, project: "gosample",
			suites: goSuites, failures: goFailures, failed: 7,
		},
		{
			fixture: "gotest-timeout.json", format: FormatGoTest, project: "gotimeout",
			suites: []result.Suite{{Name: "example.com/timeout", Passed: 1, Failed: 2}},
			failures: []wantFailure{
				{"TestHang/inner", "timeout_test.go", 0, "panic: test timed out after 1s", ""},
				{"TestHang", "timeout_test.go", 0, "did not finish", ""},
			},
			failed: 2,
		},
		{
			// xunit1: file and line attributes; the line is where the
			// text says the test failed in that file.
			fixture: "pytest-junit.xml", format: FormatJUnit, project: "pysample",
			suites: pySuites,
			failures: append(pyFailures,
				wantFailure{"test_div_zero", "tests/test_calc.py", 35, "ZeroDivisionError", "div(1, 0)"}),
			failed: 5,
		},
		{
			// xunit2 and --tb=native: no attributes, Python tracebacks;
			// the last frame.
			fixture: "pytest-junit-native.xml", format: FormatJUnit, project: "pysample",
			suites: pySuites,
			failures: append(pyFailures,
				wantFailure{"test_div_zero", "/pysample/calc.py", 10, "ZeroDivisionError", "return a / b"}),
			failed: 5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			r := parseFixture(t, tt.fixture)
			r.ResolveGoFiles("example.com/sample")
			if r.Format != tt.format || r.Path != tt.fixture {
				t.Errorf("Format, Path = %q, %q; want %q, %q", r.Format, r.Path, tt.format, tt.fixture)
			}
			if len(r.Suites) != len(tt.suites) {
				t.Fatalf("suites = %+v, want %+v", r.Suites, tt.suites)
			}
			for i, want := range tt.suites {
				got := r.Suites[i]
				got.Duration = 0
				if got != want {
					t.Errorf("suite %d = %+v, want %+v", i, got, want)
				}
				if r.Suites[i].Duration < 0 {
					t.Errorf("suite %s: negative duration", got.Name)
				}
			}
			failed := 0
			for _, c := range r.Cases {
				if c.Status == StatusFailed {
					failed++
				}
			}
			if failed != tt.failed {
				t.Errorf("%d failed cases, want %d", failed, tt.failed)
			}
			for _, w := range tt.failures {
				c := findCase(r, w.name)
				if c == nil {
					t.Errorf("no case %q", w.name)
					continue
				}
				if c.Status != StatusFailed {
					t.Errorf("%s: status %q", w.name, c.Status)
				}
				if !strings.HasSuffix(c.File, w.file) || (w.line != 0 && c.Line != w.line) || c.Line <= 0 {
					t.Errorf("%s: at %s:%d, want %s:%d", w.name, c.File, c.Line, w.file, w.line)
					continue
				}
				if !strings.Contains(c.Message, w.msg) {
					t.Errorf("%s: message %q does not contain %q", w.name, c.Message, w.msg)
				}
				if strings.Contains(c.Message, "=== RUN") || strings.Contains(c.Message, "--- FAIL") {
					t.Errorf("%s: message keeps go test framing: %q", w.name, c.Message)
				}
				if len(c.Output) > MaxOutput {
					t.Errorf("%s: output of %d bytes", w.name, len(c.Output))
				}
				line := sourceLine(t, tt.project, c.File, c.Line)
				if w.src != "" && !strings.Contains(line, w.src) {
					t.Errorf("%s: %s:%d is %q, want it to contain %q", w.name, c.File, c.Line, line, w.src)
				}
				if w.src == "" && !strings.Contains(line, "t.Run") && !strings.Contains(line, "time.Sleep") {
					t.Errorf("%s: %s:%d is %q, not the hanging test", w.name, c.File, c.Line, line)
				}
			}
		})
	}
}

func findCase(r *Report, name string) *Case {
	for i := range r.Cases {
		if r.Cases[i].Name == name {
			return &r.Cases[i]
		}
	}
	return nil
}

func TestParseGoTestDetails(t *testing.T) {
	r := parseFixture(t, "gotest.json")
	tests := []struct {
		name, status, pkg, file string
		line                    int
		duration                float64
		msg                     string
	}{
		{"TestAdd", StatusPassed, "example.com/sample/calc", "", 0, 0, ""},
		{"TestSub", StatusFailed, "example.com/sample/calc", "calc_test.go", 17, 0.03, "Sub(5, 3) = 8, want 2"},
		{"TestSkipped", StatusSkipped, "example.com/sample/calc", "calc_test.go", 22, 0, "not implemented yet"},
		{"TestSlow", StatusPassed, "example.com/sample/strutil", "", 0, 0.12, ""},
		{"TestParallel/slower", StatusPassed, "example.com/sample/strutil", "", 0, 0.04, ""},
		{BuildFailedCase, StatusFailed, "", "broken/broken_test.go", 6, 0, "undefined: Three"},
	}
	for _, tt := range tests {
		c := findCase(r, tt.name)
		if c == nil {
			t.Errorf("no case %s", tt.name)
			continue
		}
		got := fmt.Sprintf("%s %s %s:%d %.2f %s", c.Status, c.Package, c.File, c.Line, c.Duration, c.Message)
		want := fmt.Sprintf("%s %s %s:%d %.2f %s", tt.status, tt.pkg, tt.file, tt.line, tt.duration, tt.msg)
		if got != want {
			t.Errorf("%s:\n got  %s\n want %s", tt.name, got, want)
		}
		if c.Status == StatusPassed && c.Output != "" {
			t.Errorf("%s: passed case keeps output", tt.name)
		}
	}
	if c := findCase(r, "TestSub"); !strings.Contains(c.Output, "--- FAIL: TestSub") {
		t.Errorf("TestSub output = %q", c.Output)
	}
	if findCase(r, "TestNeverRuns") != nil {
		t.Error("a test that never ran is reported")
	}
}

func TestSummarize(t *testing.T) {
	gotest := parseFixture(t, "gotest.json")
	gotestsum := parseFixture(t, "gotestsum-junit.xml")
	pytest := parseFixture(t, "pytest-junit.xml")
	suites, slow, failed := Summarize([]*Report{gotest, nil, gotestsum, pytest}, 4)

	wantSuites := []result.Suite{
		{Name: "example.com/sample/boom", Passed: 2, Failed: 2},
		{Name: "example.com/sample/broken", Failed: 2},
		{Name: "example.com/sample/calc", Passed: 6, Failed: 6, Skipped: 2},
		{Name: "example.com/sample/strutil", Passed: 10, Failed: 4},
		{Name: "pytest", Passed: 4, Failed: 5, Skipped: 1},
	}
	if len(suites) != len(wantSuites) {
		t.Fatalf("suites = %+v", suites)
	}
	for i, w := range wantSuites {
		g := suites[i]
		if g.Duration <= 0 && g.Name != "example.com/sample/broken" {
			t.Errorf("suite %s: duration %v", g.Name, g.Duration)
		}
		g.Duration = 0
		if g != w {
			t.Errorf("suite %d = %+v, want %+v", i, g, w)
		}
	}
	if got, want := suites[3].Duration, gotest.Suites[3].Duration+gotestsum.Suites[3].Duration; got != want {
		t.Errorf("strutil duration = %v, want the sum %v", got, want)
	}

	var names []string
	for i, c := range slow {
		names = append(names, c.Name)
		if i > 0 && c.Duration > slow[i-1].Duration {
			t.Errorf("slow[%d] (%v) is slower than slow[%d] (%v)", i, c.Duration, i-1, slow[i-1].Duration)
		}
	}
	// pytest's test_slow sleeps 150ms, TestSlow (in both Go reports) 120ms,
	// TestParallel/slower 40ms.
	wantSlow := []string{"test_slow", "TestSlow", "TestSlow", "TestParallel/slower"}
	if strings.Join(names, ", ") != strings.Join(wantSlow, ", ") {
		t.Errorf("slow = %v, want %v", names, wantSlow)
	}

	if len(failed) != 7+7+5 {
		t.Errorf("%d failed, want 19", len(failed))
	}
	for _, f := range failed {
		if f.Name == "TestMain" { // gotestsum's build failure: no location
			continue
		}
		if f.File == "" || f.Line <= 0 || f.Message == "" || f.Suite == "" {
			t.Errorf("failed case without location or message: %+v", f)
		}
	}

	if s, sl, f := Summarize(nil, 3); s != nil || sl != nil || f != nil {
		t.Errorf("Summarize(nil) = %v, %v, %v", s, sl, f)
	}
	if _, sl, _ := Summarize([]*Report{gotest}, 0); sl != nil {
		t.Errorf("slowest 0 gave %v", sl)
	}
}

func TestSummarizeOrderAndTrim(t *testing.T) {
	long := strings.Repeat("é", MaxMessage) // 2 bytes a rune
	r := &Report{Cases: []Case{
		{TestCase: result.TestCase{Name: "b", Duration: 2}, Status: StatusPassed},
		{TestCase: result.TestCase{Name: "a", Duration: 2}, Status: StatusFailed},
		{TestCase: result.TestCase{Name: "c", Duration: 3, Message: long}, Status: StatusFailed},
		{TestCase: result.TestCase{Name: "skipped", Duration: 9}, Status: StatusSkipped},
		{TestCase: result.TestCase{Name: "d", Duration: 1}, Status: StatusPassed},
		{TestCase: result.TestCase{Name: "zero"}, Status: StatusPassed},
	}}
	_, slow, failed := Summarize([]*Report{r}, 10)
	var names []string
	for _, c := range slow {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != "c,a,b,d" {
		t.Errorf("slow = %s, want c,a,b,d", got)
	}
	if len(failed) != 2 || failed[0].Name != "a" || failed[1].Name != "c" {
		t.Fatalf("failed = %+v", failed)
	}
	m := failed[1].Message
	if len(m) > MaxMessage || !strings.HasSuffix(m, "[...]") || !strings.HasPrefix(m, "éé") {
		t.Errorf("trimmed message: %d bytes, ends %q", len(m), m[len(m)-10:])
	}
	if !bytes.Equal([]byte(strings.ToValidUTF8(m, "?")), []byte(m)) {
		t.Error("trimmed message is not valid UTF-8")
	}
	if r.Cases[2].Message != long {
		t.Error("Summarize changed the report")
	}
}

func TestParseJUnitVariants(t *testing.T) {
	tests := []struct {
		name   string
		xml    string
		suites []result.Suite
		// cases: "name status file:line message-substring"
		cases []string
	}{
		{
			name: "bare testsuite, nested suites, jest-style file attribute",
			xml: `<?xml version="1.0"?>
<testsuite name="all" tests="4">
  <testsuite name="sum" time="1.5">
    <testcase classname="sum adds" name="adds 1 + 2" time="0.25" file="src/sum.test.js">
      <failure message="expect(received).toBe(expected)" type="Error">Error: expect(received).toBe(expected)
    at Object.toBe (/app/node_modules/expect/build/index.js:300:10)
    at Object.&lt;anonymous&gt; (/app/src/sum.test.js:5:17)</failure>
    </testcase>
    <testcase classname="sum" name="adds 0" time="0.5"/>
  </testsuite>
  <testsuite name="mul">
    <testcase classname="mul" name="errors" time="0.125"><error message="TypeError: x is undefined">TypeError: x is undefined
    at mul (src/mul.js:3:9)
    at Object.&lt;anonymous&gt; (src/mul.test.js:8:5)</error></testcase>
    <testcase classname="mul" name="later"><skipped/></testcase>
  </testsuite>
</testsuite>`,
			suites: []result.Suite{{Name: "sum", Passed: 1, Failed: 1, Duration: 1.5}, {Name: "mul", Failed: 1, Skipped: 1, Duration: 0.125}},
			cases: []string{
				"adds 1 + 2 failed src/sum.test.js:5 expect(received).toBe(expected)",
				"adds 0 passed :0 ",
				"errors failed src/mul.test.js:8 TypeError: x is undefined",
				"later skipped :0 ",
			},
		},
		{
			name: "go location in the text, no file attribute",
			xml: `<testsuites><testsuite name="pkg/foo" tests="1" failures="1">
<testcase classname="github.com/x/pkg/foo" name="TestFoo" time="0.01"><failure message="Failed">    helper.go:3: setup
    path/to/file_test.go:42: got 1, want 2
</failure></testcase></testsuite></testsuites>`,
			suites: []result.Suite{{Name: "pkg/foo", Failed: 1, Duration: 0.01}},
			cases:  []string{"TestFoo failed path/to/file_test.go:42 got 1, want 2"},
		},
		{
			name: "python traceback ending in the standard library",
			xml: `<testsuites><testsuite name="unittest"><testcase classname="tests.test_x.T" name="test_eq" time="0.002"><failure message="AssertionError: 1 != 2">Traceback (most recent call last):
  File "/src/tests/test_x.py", line 12, in test_eq
    self.assertEqual(1, 2)
  File "/usr/lib/python3.11/unittest/case.py", line 873, in assertEqual
    assertion_func(first, second, msg=msg)
AssertionError: 1 != 2</failure></testcase></testsuite></testsuites>`,
			suites: []result.Suite{{Name: "unittest", Failed: 1, Duration: 0.002}},
			cases:  []string{"test_eq failed /src/tests/test_x.py:12 AssertionError: 1 != 2"},
		},
		{
			name: "suites given as counts only, merged by name, latin-1",
			xml: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<testsuites>" +
				"<testsuite name=\"caf\xe9\" tests=\"5\" failures=\"1\" errors=\"1\" skipped=\"1\" time=\"2\"/>" +
				"<testsuite name=\"caf\xe9\" tests=\"1\" time=\"0.5\"/></testsuites>",
			suites: []result.Suite{{Name: "café", Passed: 3, Failed: 2, Skipped: 1, Duration: 2.5}},
		},
		{
			name: "googletest result=skipped, unnamed suite, system-out",
			xml: `<testsuites><testsuite><testcase name="Skips" status="run" result="skipped" time="0"/>
<testcase name="Fails" classname="Math" time="0.001"><failure message="math_test.cc:7&#x0A;Expected equality"><![CDATA[math_test.cc:7
Expected equality of these values:
  1
  2]]></failure><system-out>log line</system-out></testcase></testsuite></testsuites>`,
			suites: []result.Suite{{Name: "inline.xml", Failed: 1, Skipped: 1, Duration: 0.001}},
			cases: []string{
				"Skips skipped :0 ",
				"Fails failed math_test.cc:7 Expected equality",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse("inline.xml", []byte(tt.xml))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(r.Suites) != fmt.Sprint(tt.suites) {
				t.Errorf("suites = %+v\nwant     %+v", r.Suites, tt.suites)
			}
			if len(r.Cases) != len(tt.cases) {
				t.Fatalf("%d cases, want %d: %+v", len(r.Cases), len(tt.cases), r.Cases)
			}
			for i, c := range r.Cases {
				prefix := fmt.Sprintf("%s %s %s:%d ", c.Name, c.Status, c.File, c.Line)
				want := tt.cases[i]
				if !strings.HasPrefix(want, prefix) || !strings.Contains(c.Message, strings.TrimPrefix(want, prefix)) {
					t.Errorf("case %d = %s%q, want %s", i, prefix, c.Message, want)
				}
			}
		})
	}
}

func TestParseGoTestVariants(t *testing.T) {
	ev := func(action, test, output string) string {
		return fmt.Sprintf(`{"Time":"2026-01-02T03:04:05.000000001Z","Action":%q,"Package":"example.com/m/p","Test":%q,"Output":%q,"Elapsed":0.5}`, action, test, output)
	}
	tests := []struct {
		name  string
		lines []string
		cases []string // "name status file:line message"
	}{
		{
			name: "noise lines before and between events",
			lines: []string{
				"go: downloading example.com/dep v1.0.0",
				ev("run", "TestA", ""),
				"some stderr",
				ev("output", "TestA", "    a_test.go:3: boom\n"),
				ev("fail", "TestA", ""),
			},
			cases: []string{"TestA failed a_test.go:3 boom"},
		},
		{
			name: "package failure no test explains",
			lines: []string{
				`{"Action":"start","Package":"example.com/m/p"}`,
				ev("run", "TestA", ""),
				ev("pass", "TestA", ""),
				`{"Action":"output","Package":"example.com/m/p","Output":"TestMain: database unreachable\n"}`,
				`{"Action":"output","Package":"example.com/m/p","Output":"FAIL\texample.com/m/p\t0.1s\n"}`,
				`{"Action":"fail","Package":"example.com/m/p","Elapsed":0.1}`,
			},
			cases: []string{"TestA passed :0 ", PackageFailedCase + " failed :0 TestMain: database unreachable"},
		},
		{
			name: "stream ends before a result",
			lines: []string{
				ev("run", "TestA", ""),
				ev("output", "TestA", "    a_test.go:9: still going\n"),
			},
			cases: []string{"TestA failed a_test.go:9 still going"},
		},
		{
			name: "terminal event without a run event",
			lines: []string{
				ev("skip", "TestB", ""),
			},
			cases: []string{"TestB skipped :0 "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse("inline.json", []byte(strings.Join(tt.lines, "\n")+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Cases) != len(tt.cases) {
				t.Fatalf("%d cases, want %d: %+v", len(r.Cases), len(tt.cases), r.Cases)
			}
			for i, c := range r.Cases {
				prefix := fmt.Sprintf("%s %s %s:%d ", c.Name, c.Status, c.File, c.Line)
				want := tt.cases[i]
				if !strings.HasPrefix(want, prefix) || !strings.Contains(c.Message, strings.TrimPrefix(want, prefix)) {
					t.Errorf("case %d = %s%q, want %s", i, prefix, c.Message, want)
				}
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		// want are substrings of the error.
		want []string
		line int // the ParseError's line; -1 when not a ParseError
	}{
		{"malformed.xml", readFixture(t, "malformed.xml"), []string{"malformed.xml", "malformed JUnit XML at line 6", "closed by </testsuite>"}, 6},
		{"gotest-truncated.json", readFixture(t, "gotest-truncated.json"), []string{"gotest-truncated.json", "malformed go test -json at line 14", "cut short"}, 14},
		{"empty.xml", nil, []string{"empty.xml", "empty test report"}, -1},
		{"blank.json", []byte(" \n\t\n"), []string{"empty test report"}, -1},
		{"notes.txt", []byte("all tests passed\n"), []string{"notes.txt", "not a test report"}, -1},
		{"binary", []byte{0, 1, 2, 0xff, 0xfe}, []string{"not a test report"}, -1},
		{"html.xml", []byte("<html><body>hi</body></html>"), []string{"root element is <html>"}, 1},
		{"unclosed.xml", []byte("<testsuites>\n<testsuite name=\"a\">\n<testcase name=\"x\">"), []string{"unclosed.xml", "line 3", "unexpected EOF"}, 3},
		{"ebcdic.xml", []byte(`<?xml version="1.0" encoding="EBCDIC"?><testsuite/>`), []string{`unsupported encoding "EBCDIC"`}, 1},
		{"comment.xml", []byte("<!-- only a comment -->"), []string{"no XML element"}, 0},
		{"noaction.json", []byte("{\"Test\":\"x\"}\n"), []string{"line 1", `no "Action"`}, 1},
		{"badline.json", []byte(`{"Action":"run","Package":"p","Test":"T"}` + "\n{\"Action\": 3}\n"), []string{"line 2 (byte offset 42)", "cannot unmarshal"}, 2},
		{"deep.xml", []byte(strings.Repeat("<testsuite>", 5000)), []string{"nested more than 1000 deep"}, 1},
		{"jest.json", []byte("{\n  \"numFailedTests\": 1\n}\n"), []string{"line 1", "not a go test -json event stream"}, 1},
		{"array.json", []byte(`{"Action":"run"}` + "\n[1,2]\n{oops\n"), []string{"line 3"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(tt.name, tt.data)
			if err == nil {
				t.Fatalf("no error; report %+v", r)
			}
			if r != nil {
				t.Error("a report with the error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var pe *ParseError
			if errors.As(err, &pe) {
				if pe.Line != tt.line {
					t.Errorf("ParseError.Line = %d, want %d", pe.Line, tt.line)
				}
			} else if tt.line != -1 {
				t.Errorf("%T is not a *ParseError", err)
			}
		})
	}
}

// TestHugeReports checks that a 50 MB go test -json stream and a JUnit
// file with a huge failure keep bounded output and case counts.
func TestHugeReports(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 50 MB report")
	}
	const pkg = "example.com/big"
	var b bytes.Buffer
	line := func(action, test, output string) {
		fmt.Fprintf(&b, `{"Time":"2026-01-02T03:04:05Z","Action":%q,"Package":%q,"Test":%q,"Output":%q,"Elapsed":0.001}`+"\n", action, pkg, test, output)
	}
	line("run", "TestHuge", "")
	line("output", "TestHuge", "=== RUN   TestHuge\n")
	chunk := strings.Repeat("x", 1000) + "\n"
	for b.Len() < 20<<20 {
		line("output", "TestHuge", chunk)
	}
	line("output", "TestHuge", strings.Repeat("y", 5<<20)) // one 5 MB event, no newline
	line("output", "TestHuge", "\n    big_test.go:99: the end\n")
	line("output", "TestHuge", "--- FAIL: TestHuge (0.00s)\n")
	line("fail", "TestHuge", "")
	n := 0
	for b.Len() < 50<<20 {
		name := fmt.Sprintf("TestMany%06d", n)
		line("run", name, "")
		line("pass", name, "")
		n++
	}
	if n <= MaxCases {
		t.Fatalf("only %d small tests: raise the size", n)
	}
	r, err := Parse("big.json", b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Suites) != 1 || r.Suites[0].Passed != n || r.Suites[0].Failed != 1 {
		t.Errorf("suites = %+v, want %d passed, 1 failed", r.Suites, n)
	}
	if len(r.Cases) != MaxCases || r.Dropped != n+1-MaxCases {
		t.Errorf("%d cases, %d dropped; want %d, %d", len(r.Cases), r.Dropped, MaxCases, n+1-MaxCases)
	}
	huge := r.Cases[0]
	if huge.Name != "TestHuge" || huge.File != "big_test.go" || huge.Line != 99 {
		t.Errorf("huge case = %s at %s:%d", huge.Name, huge.File, huge.Line)
	}
	if len(huge.Output) > MaxOutput || !strings.Contains(huge.Output, "bytes omitted") ||
		!strings.HasPrefix(huge.Output, "=== RUN   TestHuge\n") || !strings.Contains(huge.Output, "big_test.go:99: the end") {
		t.Errorf("output of %d bytes: %.200q ... %.200q", len(huge.Output), huge.Output, huge.Output[max(0, len(huge.Output)-200):])
	}
	if !strings.Contains(huge.Message, "the end") || len(huge.Message) > MaxOutput {
		t.Errorf("message of %d bytes, ends %q", len(huge.Message), huge.Message[max(0, len(huge.Message)-100):])
	}
	_, _, failed := Summarize([]*Report{r}, 5)
	if len(failed) != 1 || len(failed[0].Message) > MaxMessage {
		t.Errorf("failed = %d cases, message %d bytes", len(failed), len(failed[0].Message))
	}

	var x bytes.Buffer
	x.WriteString(`<testsuite name="big"><testcase name="t"><failure message="boom">`)
	for x.Len() < 10<<20 {
		x.WriteString("noise &amp; more noise\n")
	}
	x.WriteString("at t (src/t.test.js:12:3)\n</failure><system-out>")
	x.WriteString(strings.Repeat("out\n", 1<<20))
	x.WriteString("</system-out></testcase></testsuite>")
	r, err = Parse("big.xml", x.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	c := r.Cases[0]
	if c.File != "src/t.test.js" || c.Line != 12 || c.Message != "boom" || len(c.Output) > MaxOutput {
		t.Errorf("case at %s:%d, message %q, output %d bytes", c.File, c.Line, c.Message, len(c.Output))
	}
}

func TestCapText(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
	}{
		{"small", []string{"a\n", "b\n"}},
		{"exactly head", []string{strings.Repeat("h", headMax)}},
		{"many lines", []string{strings.Repeat("line of text\n", 5000)}},
		{"one huge write", []string{strings.Repeat("z", 1<<20)}},
		{"multibyte", []string{strings.Repeat("日本語\n", 10000)}},
		{"many small writes", strings.Split(strings.Repeat("w\n", 20000), "\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c capText
			total := 0
			for _, w := range tt.writes {
				c.writeString(w)
				total += len(w)
			}
			s := c.String()
			if len(s) > MaxOutput {
				t.Errorf("%d bytes kept", len(s))
			}
			if total <= MaxOutput-markMax && s != strings.Join(tt.writes, "") {
				t.Error("short text changed")
			}
			if total > MaxOutput && !strings.Contains(s, "bytes omitted") {
				t.Error("no omission marker")
			}
			if strings.ToValidUTF8(s, "\uFFFD") != s {
				t.Error("invalid UTF-8")
			}
			if last := tt.writes[len(tt.writes)-1]; len(last) > 4 && !strings.HasSuffix(s, last[len(last)-4:]) {
				t.Error("the tail is lost")
			}
		})
	}
}

func TestResolveGoFile(t *testing.T) {
	tests := []struct {
		module, pkg, file, want string
	}{
		{"example.com/sample", "example.com/sample/calc", "calc_test.go", "calc/calc_test.go"},
		{"example.com/sample", "example.com/sample/a/b", "x_test.go", "a/b/x_test.go"},
		{"example.com/sample", "example.com/sample", "root_test.go", "root_test.go"},
		{"example.com/sample", "example.com/samplex/calc", "calc_test.go", "calc_test.go"},
		{"example.com/sample", "other.org/lib", "lib_test.go", "lib_test.go"},
		{"example.com/sample", "example.com/sample/calc", "/abs/calc_test.go", "/abs/calc_test.go"},
		{"", "example.com/sample/calc", "calc_test.go", "calc_test.go"},
		{"example.com/sample", "", "calc_test.go", "calc_test.go"},
		{"github.com/o/r/v2", "github.com/o/r/v2/internal/x", "x_test.go", "internal/x/x_test.go"},
	}
	for _, tt := range tests {
		if got := ResolveGoFile(tt.module, tt.pkg, tt.file); got != tt.want {
			t.Errorf("ResolveGoFile(%q, %q, %q) = %q, want %q", tt.module, tt.pkg, tt.file, got, tt.want)
		}
	}

	r := &Report{Cases: []Case{
		{TestCase: result.TestCase{File: "calc_test.go"}, Package: "example.com/sample/calc"},
		{TestCase: result.TestCase{File: "broken/broken_test.go"}},
		{TestCase: result.TestCase{File: "tests/test_x.py"}, Package: "tests.test_x"},
	}}
	r.ResolveGoFiles("example.com/sample")
	r.ResolveGoFiles("example.com/sample")
	var got []string
	for _, c := range r.Cases {
		got = append(got, c.File)
	}
	if strings.Join(got, " ") != "calc/calc_test.go broken/broken_test.go tests/test_x.py" {
		t.Errorf("ResolveGoFiles: %v", got)
	}
}

func TestModulePath(t *testing.T) {
	tests := []struct{ gomod, want string }{
		{"module github.com/stagegate/stagegate\n\ngo 1.26\n", "github.com/stagegate/stagegate"},
		{"// comment\nmodule example.com/x // trailing\n", "example.com/x"},
		{"module \"example.com/quoted\"\n", "example.com/quoted"},
		{"module (\n\texample.com/block\n)\n", "example.com/block"},
		{"\ufeffmodule\texample.com/tab\r\n", "example.com/tab"},
		{"modules example.com/no\n", ""},
		{"go 1.22\n", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := ModulePath([]byte(tt.gomod)); got != tt.want {
			t.Errorf("ModulePath(%q) = %q, want %q", tt.gomod, got, tt.want)
		}
	}
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if got := ModulePath(gomod); got != "github.com/stagegate/stagegate" {
		t.Errorf("ModulePath(go.mod) = %q", got)
	}
	sample := readFixture(t, "gosample/go.mod")
	if got := ModulePath(sample); got != "example.com/sample" {
		t.Errorf("ModulePath(gosample/go.mod) = %q", got)
	}
}

// FuzzParse checks that no input panics and that what Parse returns stays
// within its limits.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"gotest.json", "gotestsum-junit.xml", "gotest-timeout.json", "pytest-junit.xml", "pytest-junit-native.xml", "malformed.xml", "gotest-truncated.json"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte(`<testsuite><testcase name="a"><failure>x.go:1: y</failure></testcase></testsuite>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse("fuzz", data)
		if err != nil {
			return
		}
		for _, c := range r.Cases {
			if len(c.Output) > MaxOutput || len(c.Message) > MaxOutput {
				t.Fatalf("case %q keeps %d bytes of output, %d of message", c.Name, len(c.Output), len(c.Message))
			}
		}
		Summarize([]*Report{r}, 3)
	})
}
