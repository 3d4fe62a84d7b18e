package dockerfile

import (
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// TestCommand is a command in a RUN, CMD or ENTRYPOINT instruction that runs
// tests.
type TestCommand struct {
	// Command is the test command as written (shortened), e.g. "go test ./...".
	Command string `json:"command"`
	// Instruction is RUN, CMD or ENTRYPOINT; Line is where it starts.
	Instruction string `json:"instruction"`
	Line        int    `json:"line"`
	// From names the stage the command is written in when the stage
	// inherits it (it sets no CMD or ENTRYPOINT of its own); "" when it is
	// the stage's own.
	From string `json:"from,omitempty"`
	// Script is the build context's script the stage runs, when the
	// command is in that script rather than in the Dockerfile.
	Script string `json:"script,omitempty"`
	// StatusLost, for a RUN step or a script, says why the step or the
	// script does not fail when the command fails ("|| true" after it, a
	// pipe without pipefail, a command after it without set -e): the tests
	// could fail unseen.
	StatusLost string `json:"status_lost,omitempty"`
}

// maxCommandText is how much of a test command a reason quotes.
const maxCommandText = 60

// findTestCommand returns the first simple command of a shell command line
// (or an exec-form argv joined by spaces) that runs a test runner, or "".
// It reads the command the way a reviewer would: through "&&", ";", pipes,
// "sh -c", env assignments and the usual wrappers (npx, poetry run, bundle
// exec, python -m, ...). The shell builtin "test" ("test -f x") is no test.
func findTestCommand(cmdline string) string {
	for _, c := range simpleCommands(cmdline) {
		if runsTests(c.words, 0) {
			return shorten(strings.Join(c.words, " "))
		}
	}
	return ""
}

// findWeakTest returns the first simple command of a command line that
// checks a result the way shell tests do (test, [, [[, grep -q) or runs a
// script kept with the tests (./scripts/test/e2e/entry), or "". It is a weak
// sign, taken only from a stage whose name says it tests.
func findWeakTest(cmdline string) string {
	for _, c := range simpleCommands(cmdline) {
		if c.condition {
			continue // if [ -f x ]; then ...: a choice, not an assertion
		}
		words := skipPrefix(c.words)
		if script := scriptOf(words); script != "" && (inTestDir(script) || namedForTests(script)) {
			return shorten(strings.Join(words, " "))
		}
		if len(words) < 2 {
			continue
		}
		switch words[0] {
		case "test", "[", "[[":
			return shorten(strings.Join(words, " "))
		case "grep":
			if slices.ContainsFunc(words[1:], func(w string) bool {
				return strings.HasPrefix(w, "-") && strings.Contains(w, "q") && !strings.HasPrefix(w, "--")
			}) {
				return shorten(strings.Join(words, " "))
			}
		}
	}
	return ""
}

// scriptOf is the script a simple command runs: the command itself, or the
// first argument of an interpreter (python integration.py, sh ./e2e.sh);
// "" for none.
func scriptOf(words []string) string {
	if len(words) == 0 {
		return ""
	}
	cmd := strings.Trim(words[0], `"'`)
	switch base := path.Base(cmd); {
	case isShell(base) || isPython(base) || base == "node" || base == "ruby" || base == "perl" || base == "php":
		for _, a := range words[1:] {
			if !strings.HasPrefix(a, "-") {
				return strings.Trim(a, `"'`)
			}
		}
		return ""
	}
	return cmd
}

// namedForTests reports whether a script's name, without its extension,
// says it tests as a stage name does: integration.py, e2e.sh; not
// ci-setup.sh, whose other word says it prepares.
func namedForTests(script string) bool {
	name := strings.ToLower(path.Base(script))
	if ext := path.Ext(name); ext != "" {
		name = strings.TrimSuffix(name, ext)
	}
	words := nameWords(name)
	return name != "" && slices.ContainsFunc(words, testNameWord.MatchString) &&
		!slices.ContainsFunc(words, func(w string) bool { return slices.Contains(helperNameWords, w) })
}

// inTestDir reports whether a command is a script in a folder of tests.
func inTestDir(cmd string) bool {
	dirs := strings.Split(path.Dir(cmd), "/")
	return strings.Contains(cmd, "/") && slices.ContainsFunc(dirs, func(d string) bool {
		return d == "test" || d == "tests" || d == "e2e" || d == "integration" || d == "spec"
	})
}

// splitCommands cuts a command line into simple commands at newlines, "&&",
// "||", ";", "|", "(", ")", "{", "}" and backticks. Quotes are kept inside
// the words: "sh -c '...'" is unwrapped by runsTests.
func splitCommands(s string) []string {
	s = strings.NewReplacer("\\\n", " ", "&&", "\n", "||", "\n", ";", "\n", "|", "\n",
		"(", "\n", ")", "\n", "`", "\n", "$(", "\n").Replace(s)
	var out []string
	for _, c := range strings.Split(s, "\n") {
		c = strings.TrimSpace(c)
		c = strings.Trim(c, "{} \t")
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

// wrappers are commands that run the command in their arguments (after
// their own flags).
var wrappers = map[string]bool{
	"exec": true, "time": true, "sudo": true, "env": true, "nohup": true, "xvfb-run": true,
	"dumb-init": true, "tini": true, "gosu": true, "su-exec": true, "catchsegv": true, "eatmydata": true,
	"npx": true, "pnpx": true, "bunx": true, "timeout": true, "retry": true,
	"doppler": true, "with-contenv": true, "chronic": true, "stdbuf": true, "nice": true, "ionice": true,
	"nyc": true, "c8": true,
}

// runnerArgs are wrappers that take a fixed first word: "poetry run X".
var runnerArgs = map[string]string{
	"poetry": "run", "pipenv": "run", "uv": "run", "hatch": "run", "pdm": "run", "rye": "run",
	"bundle": "exec", "pnpm": "exec", "npm": "exec", "conda": "run", "mamba": "run", "pixi": "run",
	"dotnet": "tool", "coverage": "run",
}

// testRunners are commands that run tests whatever their arguments.
var testRunners = map[string]bool{
	"pytest": true, "py.test": true, "nosetests": true, "nose2": true, "tox": true, "nox": true,
	"behave": true, "gotestsum": true, "ginkgo": true, "phpunit": true, "pest": true, "paratest": true,
	"rspec": true, "jest": true, "vitest": true, "mocha": true, "karma": true, "ava": true, "jasmine": true,
	"cucumber": true, "cucumber-js": true, "ctest": true, "bats": true, "shellspec": true, "busted": true,
	"prove": true, "testem": true, "tap": true, "codeceptjs": true,
	"codecept": true, "ward": true, "trial": true, "green": true, "stestr": true, "testr": true, "robot": true,
	"critest": true, "testcafe": true, "nightwatch": true,
}

// subcommandRunners are tools whose named subcommand runs tests: "go test".
var subcommandRunners = map[string][]string{
	"go":         {"test"},
	"cargo":      {"test", "nextest", "tarpaulin", "llvm-cov"},
	"dotnet":     {"test", "vstest"},
	"mix":        {"test"},
	"deno":       {"test"},
	"bun":        {"test"},
	"swift":      {"test"},
	"dart":       {"test"},
	"flutter":    {"test"},
	"meson":      {"test"},
	"bazel":      {"test", "coverage"},
	"bazelisk":   {"test", "coverage"},
	"lein":       {"test"},
	"stack":      {"test"},
	"cabal":      {"test"},
	"dune":       {"test", "runtest"},
	"zig":        {"test"},
	"rebar3":     {"eunit", "ct"},
	"cypress":    {"run"},
	"playwright": {"test"},
	"composer":   {"test", "tests"},
	"artisan":    {"test"},
	"newman":     {"run"},
	"goss":       {"validate", "v"},
	"dgoss":      {"run"},
	"detox":      {"test"},

	"container-structure-test": {"test"},
}

// goalTools take goals as arguments; a goal that names tests runs them.
var goalTools = map[string]bool{
	"make": true, "gmake": true, "just": true, "task": true, "mage": true, "rake": true,
	"invoke": true, "ninja": true, "nx": true, "turbo": true, "lerna": true, "scons": true,
}

// goalTestWords are words of a make goal or npm script that say it runs
// tests (test, test:unit, unit-tests, e2e, start-server-and-test);
// goalOtherWords say it does something else (test:watch never ends,
// test-build only compiles).
var (
	goalTestWords  = []string{"test", "tests", "testall", "unittest", "unittests", "integrationtest", "integrationtests", "unit", "spec", "specs", "e2e", "integration", "ci"}
	goalOtherWords = []string{"watch", "build", "deps", "install", "lint", "fmt", "format", "clean", "image", "push", "update", "snapshot", "snapshots"}
)

// isTestGoal reports whether a make goal or npm script runs tests; "check"
// counts only on its own (make check).
func isTestGoal(goal string) bool {
	goal = strings.ToLower(strings.Trim(goal, `"'`))
	if goal == "check" || strings.Contains(goal, "end-to-end") {
		return true
	}
	words := strings.FieldsFunc(goal, func(r rune) bool { return r == '-' || r == '_' || r == ':' || r == '.' || r == '/' })
	found := false
	for _, w := range words {
		if slices.Contains(goalOtherWords, w) {
			return false
		}
		if slices.Contains(goalTestWords, w) {
			found = true
		}
	}
	return found
}

// testScript is a script whose name says it runs tests: ./test.sh,
// scripts/run-tests, ci/unit_tests.py.
var testScript = regexp.MustCompile(`^(run[-_]?)?([a-z0-9]+[-_])?(u?tests?|spec|specs|unittests?)([-_][a-z0-9]+)*(\.(sh|bash|bats|py|rb|js|mjs|ts|pl|ps1))?$`)

func runsTests(words []string, depth int) bool {
	words = skipPrefix(words)
	if len(words) == 0 || depth > 4 {
		return false
	}
	cmd := strings.Trim(words[0], `"'`)
	base := path.Base(cmd)
	if b, ok := strings.CutPrefix(base, "xx-"); ok {
		base = b // tonistiigi/xx's cross-compiling wrappers: xx-go test, xx-cargo test
	}
	args := words[1:]
	if !isShell(base) && skipsTests(args) {
		return false
	}
	switch {
	case isShell(base):
		// sh -c 'go test ./...', bash -ec "...", or sh ./test.sh.
		for i, a := range args {
			if strings.HasPrefix(a, "-") && strings.Contains(a, "c") && !strings.HasPrefix(a, "--") {
				return findTestCommand(strings.Trim(strings.Join(args[i+1:], " "), `"'`)) != ""
			}
			if !strings.HasPrefix(a, "-") {
				return isTestScript(strings.Trim(a, `"'`), true) || targetsTests(args[i+1:])
			}
		}
		return false
	case wrappers[base]:
		return runsTests(skipFlags(args), depth+1)
	case runnerArgs[base] != "" && firstArg(args) == runnerArgs[base]:
		return runsTests(skipFlags(skipFlags(args)[1:]), depth+1)
	case testRunners[base]:
		return true
	case base == "pub":
		// pub run test: Dart's test runner, before dart test.
		return strings.HasPrefix(strings.Join(args, " "), "run test")
	case isPython(base):
		return pythonRunsTests(args, depth)
	case base == "npm" || base == "pnpm" || base == "yarn" || base == "bun":
		return scriptRunsTests(base, skipFlags(args))
	case base == "mvn" || base == "mvnw" || base == "gradle" || base == "gradlew":
		return buildToolRunsTests(args)
	case base == "sbt":
		return sbtRunsTests(args)
	case goalTools[base]:
		for _, a := range args {
			if !strings.HasPrefix(a, "-") && !strings.Contains(a, "=") && isTestGoal(a) {
				return true
			}
		}
		return false
	case base == "php" || base == "ruby" || base == "node" || base == "perl":
		// php vendor/bin/phpunit, php artisan test, ruby -Itest test/all.rb.
		for i, a := range skipFlags(args) {
			a = strings.Trim(a, `"'`)
			if i == 0 {
				ab := path.Base(a)
				return testRunners[ab] || isTestScript(a, true) ||
					(ab == "artisan" && len(args) > 1 && slicesContains(args, "test"))
			}
		}
		return false
	}
	if subs, ok := subcommandRunners[base]; ok {
		first := firstArg(args)
		for _, s := range subs {
			if first == s {
				return true
			}
		}
		if base == "zig" && len(args) >= 2 && args[0] == "build" && args[1] == "test" {
			return true
		}
		if base == "dart" || base == "flutter" {
			rest := strings.Join(args, " ")
			return strings.HasPrefix(rest, "run test") || strings.HasPrefix(rest, "pub run test")
		}
		return false
	}
	// pkg.test: a Go test binary under the name go test -c gives it.
	if strings.HasSuffix(base, ".test") && len(base) > len(".test") {
		return true
	}
	return isTestScript(cmd, false) || targetsTests(args) || handsOnATest(cmd, args, depth)
}

// compiledTests are the names of the Go test binaries a command line's
// go test -c -o NAME steps write: a command that runs one runs tests.
func compiledTests(cmdline string) []string {
	var names []string
	for _, c := range simpleCommands(cmdline) {
		words := skipPrefix(c.words)
		if len(words) < 3 || path.Base(words[0]) != "go" || words[1] != "test" || !slices.Contains(words, "-c") {
			continue
		}
		for i, w := range words {
			if o, ok := strings.CutPrefix(w, "-o="); ok {
				names = append(names, path.Base(strings.Trim(o, `"'`)))
			} else if w == "-o" && i+1 < len(words) {
				names = append(names, path.Base(strings.Trim(words[i+1], `"'`)))
			}
		}
	}
	return names
}

// handsOnATest reports whether a script is handed a test command to run:
// wait-for-services.sh db yarn test, ./with-env.sh -- go test ./...
func handsOnATest(cmd string, args []string, depth int) bool {
	if !strings.Contains(cmd, "/") && !strings.HasSuffix(cmd, ".sh") {
		return false
	}
	for i := range args {
		if runsTests(args[i:], depth+1) {
			return true
		}
	}
	return false
}

// skipsTests reports whether a test runner's arguments ask it to run none:
// go test -c (compile only), go test -run=^$ or -run=NON_EXISTING (download
// the test dependencies), cargo test --no-run, tox --notest.
func skipsTests(args []string) bool {
	for i, a := range args {
		a = strings.Trim(a, `"'`)
		switch {
		case a == "-c" || a == "--no-run" || a == "--notest" || a == "--collect-only" || a == "--co":
			return true
		case a == "-run" && i+1 < len(args) && matchesNothing(args[i+1]):
			return true
		case strings.HasPrefix(a, "-run=") && matchesNothing(strings.TrimPrefix(a, "-run=")):
			return true
		}
	}
	return false
}

// matchesNothing: a -run pattern written to match no test.
var matchesNothing = regexp.MustCompile(`(?i)^["']?(\^\$|x{3,}|none|non_?existing|nothing|no_?tests?|\$\^)["']?$`).MatchString

// targetsTests reports whether a build tool is asked for a test target:
// cmake --build . --target test, ./build.sh --target=integrationtest.
func targetsTests(args []string) bool {
	for i, a := range args {
		if goal, ok := strings.CutPrefix(a, "--target="); ok && isTestGoal(goal) {
			return true
		}
		if a == "--target" && i+1 < len(args) && isTestGoal(args[i+1]) {
			return true
		}
	}
	return false
}

// skipPrefix drops what comes before the command word: environment
// assignments (CGO_ENABLED=0 go test) and "!".
func skipPrefix(words []string) []string {
	for len(words) > 0 {
		w := words[0]
		if w == "!" || w == "then" || w == "do" || w == "else" {
			words = words[1:]
			continue
		}
		if k, _, ok := strings.Cut(w, "="); ok && k != "" && !strings.ContainsAny(k, "/-.\"'$") {
			words = words[1:]
			continue
		}
		return words
	}
	return nil
}

// skipFlags drops leading flags (and a timeout's duration) so that the next
// word is the wrapped command or the subcommand.
func skipFlags(args []string) []string {
	for len(args) > 0 {
		a := strings.TrimLeft(args[0], `"'`) // xvfb-run -s '-screen 0 1024x768x24'
		switch {
		case strings.HasPrefix(a, "-"):
			args = args[1:]
		case len(a) > 0 && a[0] >= '0' && a[0] <= '9':
			args = args[1:] // timeout 600 go test
		default:
			return args
		}
	}
	return nil
}

func firstArg(args []string) string {
	if a := skipFlags(args); len(a) > 0 {
		return strings.Trim(a[0], `"'`)
	}
	return ""
}

func isShell(base string) bool {
	switch base {
	case "sh", "bash", "ash", "dash", "zsh", "ksh":
		return true
	}
	return false
}

func isPython(base string) bool {
	return base == "python" || base == "python2" || base == "python3" ||
		(strings.HasPrefix(base, "python3.") && len(base) <= 10)
}

// pythonRunsTests: python -m pytest|unittest|nose|tox, python manage.py test,
// python setup.py test, python runtests.py.
func pythonRunsTests(args []string, depth int) bool {
	for i := 0; i < len(args); i++ {
		a := strings.Trim(args[i], `"'`)
		switch {
		case a == "-m" && i+1 < len(args):
			mod := strings.Trim(args[i+1], `"'`)
			switch mod {
			case "pytest", "unittest", "nose", "nose2", "tox", "nox", "green", "ward", "behave", "xmlrunner", "coverage":
				if mod == "coverage" {
					return runsTests(append([]string{"coverage"}, args[i+2:]...), depth+1)
				}
				return true
			}
			return false
		case strings.HasPrefix(a, "-"):
			continue
		default:
			b := path.Base(a)
			if (b == "manage.py" || b == "setup.py" || b == "runtests.py") && i+1 < len(args) {
				return slicesContains(args[i+1:], "test") || b == "runtests.py"
			}
			return isTestScript(a, true)
		}
	}
	return false
}

// scriptRunsTests: npm test, npm run test:unit, yarn test, pnpm run e2e, bun
// run test. A script that watches (test:watch) never ends: no test run.
func scriptRunsTests(tool string, args []string) bool {
	if len(args) == 0 {
		return false
	}
	first := strings.Trim(args[0], `"'`)
	switch first {
	case "test", "t", "tst", "it", "cit", "install-test":
		return true
	case "run", "run-script":
		rest := skipFlags(args[1:])
		if len(rest) == 0 {
			return false
		}
		first = strings.Trim(rest[0], `"'`)
	default:
		if tool == "npm" {
			return false // npm ci, npm install, npm exec ...: no test
		}
	}
	// npm run vitest: a script named for the test runner it runs.
	return isTestGoal(first) || testRunners[first]
}

// sbtRunsTests: sbt test, sbt "testOnly a.B", sbt ";clean;test", sbt it:test.
// A quoted argument is one command line of ;-separated commands, so "set
// test in assembly := {}" (which turns the tests off) is one command, a set.
func sbtRunsTests(args []string) bool {
	line := strings.ReplaceAll(strings.Join(args, " "), "'", `"`)
	var commands []string
	for i, part := range strings.Split(line, `"`) {
		if i%2 == 1 {
			commands = append(commands, strings.Split(part, ";")...)
			continue
		}
		commands = append(commands, strings.Fields(strings.ReplaceAll(part, ";", " "))...)
	}
	for _, c := range commands {
		words := strings.Fields(c)
		if len(words) == 0 {
			continue
		}
		name := strings.TrimPrefix(words[0], "+")
		if i := strings.LastIndexAny(name, "/:"); i >= 0 {
			name = name[i+1:] // it:test, IntegrationTest/test
		}
		switch name {
		case "test", "testOnly", "testQuick", "testFull":
			return true
		}
	}
	return false
}

// buildToolRunsTests: mvn test|verify, gradle test|check, unless tests are
// skipped (-DskipTests, -Dmaven.test.skip, -x test).
func buildToolRunsTests(args []string) bool {
	runs := false
	for i, a := range args {
		l := strings.ToLower(strings.Trim(a, `"'`))
		switch {
		case strings.Contains(l, "skiptests") || strings.Contains(l, "test.skip") ||
			(l == "-x" && i+1 < len(args) && strings.Contains(strings.ToLower(args[i+1]), "test")):
			return false
		case l == "test" || l == "verify" || l == "check" || l == "integration-test" || l == "integrationtest" ||
			strings.HasSuffix(l, ":test") || strings.HasSuffix(l, ":check") || l == "surefire:test" || l == "failsafe:integration-test":
			runs = true
		}
	}
	return runs
}

// isTestScript reports whether word names a test script. A bare "test" or
// "check" is the shell builtin (or a make goal), so a script needs a path
// ("./test", "scripts/test") or, when it is run by an interpreter, a name.
func isTestScript(word string, interpreted bool) bool {
	b := strings.ToLower(path.Base(word))
	if !testScript.MatchString(b) {
		return false
	}
	return interpreted || strings.Contains(word, "/") || strings.Contains(b, ".")
}

func slicesContains(list []string, s string) bool {
	for _, v := range list {
		if strings.Trim(v, `"'`) == s {
			return true
		}
	}
	return false
}

// shorten keeps a quoted command to one short line.
func shorten(s string) string {
	if len(s) <= maxCommandText {
		return s
	}
	cut := maxCommandText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
