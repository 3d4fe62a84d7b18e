package dockerfile

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// TestStage is a stage a run builds first, for its tests, and why.
type TestStage struct {
	*Stage
	// Reason says in one line why the stage was picked.
	Reason string
	// Mode is how its tests run: TestModeBuild or TestModeRun.
	Mode TestMode
}

// Candidate is a stage that looked like a test stage and was not picked.
type Candidate struct {
	*Stage
	// Reason says in one line why it was not picked.
	Reason string
}

// testNameWord is a word of a stage name that says the stage tests:
// test, tests, unit-test's "test", unittests, testrunner, tester, spec, e2e.
var testNameWord = regexp.MustCompile(`^(unit|int|integration|func|functional|e2e|api|ui|smoke|acceptance|system|component|regression|go|py|js|node|web)?(tests?|testing|testers?|testrunners?|testsuites?|specs?)$|^(e2e|ci|integration|integrations)$`)

// helperNameWords are words of a test-like name that say the stage prepares
// or collects for the tests rather than running them: test-deps, test-base,
// test-results, testdata.
var helperNameWords = []string{
	"base", "deps", "dep", "dependencies", "depends", "requirements", "reqs", "results", "result",
	"reports", "report", "output", "outputs", "out", "artifacts", "artifact", "data", "fixtures",
	"fixture", "tools", "tooling", "env", "environment", "setup", "prep", "prepare", "image",
	"assets", "cache", "sources", "src", "files", "coverage", "cover", "bin", "binaries", "export",
	"certs", "db", "database", "stub", "mock", "mocks", "build", "builder", "compile", "install",
	"runtime", "server", "tester-base", "vendor",
}

// nameWords splits a stage name into its words ("unit-test_e2e" ->
// unit, test, e2e), plus the name itself for compounds like "testrunner".
func nameWords(name string) []string {
	words := strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' || r == '.' })
	return append(words, name)
}

// testName reports whether a stage's name says it tests, and the helper word
// in it when the name says it only prepares for tests ("deps" in test-deps).
func testName(st *Stage) (tests bool, helper string) {
	if !st.Named {
		return false, ""
	}
	words := nameWords(st.Name)
	for _, w := range words {
		if testNameWord.MatchString(w) {
			tests = true
		}
	}
	if !tests {
		return false, ""
	}
	for _, w := range words {
		if slices.Contains(helperNameWords, w) || strings.HasPrefix(st.Name, "testdata") {
			return true, w
		}
	}
	return true, ""
}

// Discover picks the stages that hold a Dockerfile's tests, from what the
// file says: stage names (test, tests, unit-test, test-unit, tester,
// integration-tests, e2e, spec, ci, ...), what a stage runs (a known test
// runner in RUN, CMD or ENTRYPOINT) and where it sits in the graph (the final
// target builds on it or not). Every pick and every stage that looked like
// one but was not picked comes with a one-line reason.
func (g *Graph) Discover(target *Stage) (picked []TestStage, rejected []Candidate) {
	reached := g.Reach(target)
	reasons := map[int]string{}
	picks := map[int]bool{}
	var unnamed []*Stage // run tests, but their names do not say so
	for _, st := range g.Stages {
		named, helper := testName(st)
		tc := st.testSign(named, st == target)
		switch {
		case !named && tc == nil:
			continue
		case !named:
			unnamed = append(unnamed, st)
			continue
		case st == target && tc == nil:
			reasons[st.Index] = "it is the final target, and none of its steps runs a known test runner"
		case tc != nil:
			picks[st.Index] = true
			reasons[st.Index] = "named like a test stage and runs " + describe(tc)
		case st.Runs == 0 && st.Command == "" && st.Copies > 0:
			reasons[st.Index] = "named like a test stage but only copies files: no RUN, CMD or ENTRYPOINT runs a test"
		case st.Runs == 0 && st.Command == "":
			reasons[st.Index] = "named like a test stage but runs nothing: no RUN, CMD or ENTRYPOINT"
		case helper != "":
			reasons[st.Index] = fmt.Sprintf("%q in its name: it prepares for tests, and none of its steps runs a known test runner", helper)
		default:
			what := fmt.Sprintf("its %d RUN step(s) run", st.Runs)
			if st.Command != "" {
				what = "its command, " + st.Command + ", runs"
			}
			reasons[st.Index] = fmt.Sprintf("named like a test stage, but %s no known test runner; name it in the test targets if it tests", what)
		}
	}
	// A stage whose name does not say it tests is picked for the test runner
	// it runs only when no stage is named for the tests: a build stage that
	// runs "mvn test package" beside a test stage is no test stage of its own.
	for _, st := range unnamed {
		tc := st.testSign(false, st == target)
		switch {
		case len(picks) > 0 && st == target:
			reasons[st.Index] = fmt.Sprintf("the final target runs %s itself; the test stages picked run the tests first", describe(tc))
		case len(picks) > 0:
			reasons[st.Index] = fmt.Sprintf("runs %s, but its name does not say it tests and the stages named for tests run them", describe(tc))
		case st == target:
			reasons[st.Index] = fmt.Sprintf("the final target runs %s itself, and no other stage is named for tests", describe(tc))
		case slices.Contains(reached, st):
			reasons[st.Index] = fmt.Sprintf("runs %s on the way to the final target, and no stage is named for tests", describe(tc))
		default:
			reasons[st.Index] = fmt.Sprintf("runs %s, and the final target does not build on it", describe(tc))
		}
	}
	if len(picks) == 0 {
		for _, st := range unnamed {
			picks[st.Index] = true
		}
	}
	for _, st := range g.Stages {
		reason, ok := reasons[st.Index]
		switch {
		case !ok:
		case picks[st.Index]:
			picked = append(picked, TestStage{Stage: st, Reason: reason})
		default:
			rejected = append(rejected, Candidate{Stage: st, Reason: reason})
		}
	}
	return picked, rejected
}

// testSign is what says the stage tests, or nil: its command when that runs
// a test runner, else its first RUN step that does. A stage named for tests
// may also show it weakly (a shell assertion, a script kept with the tests).
// The command of a final target not named for tests counts only when it is
// a known test runner (CMD rspec): an image whose command is ./test-server
// or python test.py is the application. An inherited command counts only in
// a stage named for tests.
func (st *Stage) testSign(named, target bool) *TestCommand {
	tc := st.CmdTest
	if tc != nil && tc.From != "" && !named {
		// Every stage built on a test stage inherits its command; only one
		// named for tests is taken to run those tests again on purpose.
		tc = nil
	}
	if tc != nil && target && !named {
		if script := scriptOf(skipPrefix(strings.Fields(tc.Command))); script != "" && isTestScript(script, false) {
			tc = nil
		}
	}
	switch {
	case tc != nil:
		return tc
	case st.RunTest != nil:
		return st.RunTest
	case named:
		return st.WeakTest
	}
	return nil
}

// dependsOn reports whether the stage uses stage i directly.
func (st *Stage) dependsOn(i int) bool {
	for _, d := range st.Deps {
		if d.Stage == i {
			return true
		}
	}
	return false
}

// describe quotes a test command and says where it is.
func describe(tc *TestCommand) string {
	if tc.Script != "" {
		return fmt.Sprintf("%q (in %s, which its %s on line %d runs)", tc.Command, tc.Script, tc.Instruction, tc.Line)
	}
	if tc.From != "" {
		return fmt.Sprintf("%q (%s, line %d, inherited from stage %s)", tc.Command, tc.Instruction, tc.Line, tc.From)
	}
	return fmt.Sprintf("%q (%s, line %d)", tc.Command, tc.Instruction, tc.Line)
}
