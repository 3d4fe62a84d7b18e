package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stagegate/stagegate/internal/github/githubtest"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/testenv"
)

const (
	token     = "ghs_test_token_for_the_fake_api"
	pushSHA   = "0123456789abcdef0123456789abcdef01234567"
	prHeadSHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
)

// actionRun is one run of the binary the way the runner runs a container
// action: inputs as INPUT_*, the event on disk, file commands as files.
type actionRun struct {
	code             int
	stdout           string
	outputs          map[string]string
	summary          string
	workspace, event string
}

type actionCase struct {
	event   string // testdata/events/<event>.json
	inputs  map[string]string
	api     *githubtest.Server
	noToken bool
	// buildkitHost overrides the test environment's builder.
	buildkitHost string
	// dir is the working directory; the workspace, as the runner has it,
	// when empty.
	dir string
}

func runAction(t *testing.T, workspace string, c actionCase) actionRun {
	t.Helper()
	p := startAction(t, workspace, c)
	return p.wait(t)
}

// actionProcess is a running action.
type actionProcess struct {
	cmd                     *exec.Cmd
	out                     *lockedBuffer
	outputFile, summaryFile string
	workspace               string
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (p *actionProcess) wait(t *testing.T) actionRun {
	t.Helper()
	err := p.cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	summary, _ := os.ReadFile(p.summaryFile)
	return actionRun{code: code, stdout: p.out.String(), outputs: readOutputs(t, p.outputFile), summary: string(summary), workspace: p.workspace}
}

func startAction(t *testing.T, workspace string, c actionCase) *actionProcess {
	t.Helper()
	dir := t.TempDir()
	outputFile, summaryFile := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	for _, f := range []string{outputFile, summaryFile} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	eventPath, err := filepath.Abs(filepath.Join("..", "..", "testdata", "events", c.event+".json"))
	if err != nil {
		t.Fatal(err)
	}
	eventName := strings.TrimSuffix(c.event, "_fork")
	env := []string{
		"GITHUB_ACTIONS=true",
		"GITHUB_EVENT_NAME=" + eventName,
		"GITHUB_EVENT_PATH=" + eventPath,
		"GITHUB_SHA=" + pushSHA,
		"GITHUB_REPOSITORY=octo-org/hello-stagegate",
		"GITHUB_SERVER_URL=https://github.com",
		"GITHUB_RUN_ID=4242",
		"GITHUB_REF_NAME=main",
		"GITHUB_WORKSPACE=" + workspace,
		"GITHUB_OUTPUT=" + outputFile,
		"GITHUB_STEP_SUMMARY=" + summaryFile,
		"RUNNER_TEMP=" + dir,
		"BUILDKIT_HOST=" + testenv.BuildKitHost(t),
	}
	if c.api != nil {
		env = append(env, "GITHUB_API_URL="+c.api.URL)
	}
	if c.buildkitHost != "" {
		env = append(env, "BUILDKIT_HOST="+c.buildkitHost)
	}
	if !c.noToken {
		env = append(env, "INPUT_GITHUB-TOKEN="+token)
	}
	for k, v := range c.inputs {
		env = append(env, "INPUT_"+strings.ToUpper(k)+"="+v)
	}
	cmd := exec.Command(binary) // no arguments, as a container action's entrypoint
	cmd.Dir = workspace
	if c.dir != "" {
		cmd.Dir = c.dir
	}
	cmd.Env = append(cleanEnv(), env...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return &actionProcess{cmd: cmd, out: out, outputFile: outputFile, summaryFile: summaryFile, workspace: workspace}
}

// cleanEnv is this process's environment without GitHub's variables, so the
// tests do not depend on where they run.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GITHUB_") && !strings.HasPrefix(kv, "INPUT_") && !strings.HasPrefix(kv, "RUNNER_") {
			env = append(env, kv)
		}
	}
	return env
}

// readReport reads the JSON report the way a later step does: the report
// output is a path relative to the workspace, the later step's working
// directory.
func (r actionRun) readReport(t *testing.T) map[string]any {
	t.Helper()
	p := r.outputs["report"]
	if p == "" || filepath.IsAbs(p) {
		t.Fatalf("report output %q, want a path relative to the workspace", p)
	}
	dt, err := os.ReadFile(filepath.Join(r.workspace, p))
	if err != nil {
		t.Fatalf("report output %q: %v", p, err)
	}
	var report map[string]any
	if err := json.Unmarshal(dt, &report); err != nil {
		t.Fatalf("report %s: %v", p, err)
	}
	return report
}

// readOutputs parses GITHUB_OUTPUT the way the runner does: name<<DELIM
// lines, the value, DELIM.
func readOutputs(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		name, delim, ok := strings.Cut(sc.Text(), "<<")
		if !ok {
			t.Fatalf("GITHUB_OUTPUT line %q is not name<<DELIMITER", sc.Text())
		}
		var value []string
		for sc.Scan() && sc.Text() != delim {
			value = append(value, sc.Text())
		}
		out[name] = strings.Join(value, "\n")
	}
	return out
}

// workspace copies an example into a new workspace directory.
func workspace(t *testing.T, example string) string {
	t.Helper()
	dir := t.TempDir()
	copyDir(t, filepath.Join("..", "..", "examples", example), dir)
	return dir
}

func checkRun(t *testing.T, api *githubtest.Server, name string) githubtest.CheckRun {
	t.Helper()
	var found []githubtest.CheckRun
	for _, r := range api.CheckRuns() {
		if r.Name == name {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d check runs named %q, want 1 (all: %+v)", len(found), name, api.CheckRuns())
	}
	return found[0]
}

// commandsOutsideStops returns the workflow commands the runner would
// execute: those outside ::stop-commands::TOKEN ... ::TOKEN:: regions.
func commandsOutsideStops(stdout string) []string {
	var cmds []string
	stopToken := ""
	for _, line := range strings.Split(stdout, "\n") {
		if stopToken != "" {
			if line == "::"+stopToken+"::" {
				stopToken = ""
			}
			continue
		}
		if tok, ok := strings.CutPrefix(line, "::stop-commands::"); ok {
			stopToken = tok
			continue
		}
		if strings.HasPrefix(line, "::") {
			cmds = append(cmds, line)
		}
	}
	return cmds
}

func TestActionPassingBuildOnPush(t *testing.T) {
	api := githubtest.NewServer(t, token)
	r := runAction(t, workspace(t, "app"), actionCase{event: "push", api: api})
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	for _, name := range []string{"stagegate / test", "stagegate / image"} {
		cr := checkRun(t, api, name)
		if cr.HeadSHA != pushSHA || cr.Status != "completed" || cr.Conclusion != "success" {
			t.Errorf("%s: sha %s status %s conclusion %s", name, cr.HeadSHA, cr.Status, cr.Conclusion)
		}
		if cr.DetailsURL != "https://github.com/octo-org/hello-stagegate/actions/runs/4242" {
			t.Errorf("%s: details_url %q", name, cr.DetailsURL)
		}
	}
	// Notices on each stage's FROM line, in the check of the phase that built it.
	notices := map[string]int{}
	for _, name := range []string{"stagegate / test", "stagegate / image"} {
		for _, a := range checkRun(t, api, name).Annotations {
			if a.AnnotationLevel == "notice" && a.Path == "Dockerfile" {
				notices[strings.Fields(a.Title)[1]] = a.StartLine
			}
		}
	}
	want := map[string]int{"base:": 4, "build:": 8, "test:": 15, "final:": 20}
	for k, v := range want {
		if notices[k] != v {
			t.Errorf("notice for %s at line %d, want %d (all %v)", k, notices[k], v, notices)
		}
	}
	if r.outputs["result"] != "passed" || r.outputs["failed-stage"] != "" || r.outputs["image-size"] == "" || !strings.HasPrefix(r.outputs["digest"], "sha256:") {
		t.Errorf("outputs %v", r.outputs)
	}
	if !strings.Contains(r.outputs["stages"], `"name":"final"`) {
		t.Errorf("stages output %q", r.outputs["stages"])
	}
	if rep := r.readReport(t); rep["result"] != "passed" || rep["file"] != "Dockerfile" {
		t.Errorf("report: result %v, file %v", rep["result"], rep["file"])
	}
	if !strings.Contains(r.summary, "| final") || !strings.Contains(r.summary, "```mermaid") {
		t.Errorf("summary lacks the table or graph:\n%s", r.summary)
	}
	for _, group := range []string{"::group::stagegate: build (test stages first)", "::group::stagegate: image (final target)", "::group::stage test: "} {
		if !strings.Contains(r.stdout, group) {
			t.Errorf("no log group %q:\n%s", group, r.stdout)
		}
	}
}

func TestActionFailingTestOnPullRequest(t *testing.T) {
	api := githubtest.NewServer(t, token)
	r := runAction(t, workspace(t, "failing-test"), actionCase{event: "pull_request", api: api})
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stdout)
	}
	test, image := checkRun(t, api, "stagegate / test"), checkRun(t, api, "stagegate / image")
	if test.HeadSHA != prHeadSHA || image.HeadSHA != prHeadSHA {
		t.Errorf("check runs on %s and %s, want the PR head %s", test.HeadSHA, image.HeadSHA, prHeadSHA)
	}
	// The image check fails too: a repository that requires only the image
	// check is still gated on the tests.
	if test.Conclusion != "failure" || image.Conclusion != "failure" {
		t.Errorf("conclusions test=%s image=%s, want failure and failure", test.Conclusion, image.Conclusion)
	}
	if !strings.Contains(image.Output.Summary, "not built") {
		t.Errorf("the image check does not say why it was skipped: %q", image.Output.Summary)
	}
	var failure *githubtest.Annotation
	for i, a := range test.Annotations {
		if a.AnnotationLevel == "failure" {
			failure = &test.Annotations[i]
		}
	}
	if failure == nil || failure.StartLine != 17 || failure.EndLine != 17 || failure.Path != "Dockerfile" ||
		!strings.Contains(failure.Title, "exit code 3") || !strings.Contains(failure.RawDetails, "not ok 3") {
		t.Fatalf("failure annotation %+v, want Dockerfile:17 with the exit code and the log tail", failure)
	}
	if r.outputs["result"] != "failed" || r.outputs["failed-stage"] != "test" {
		t.Errorf("outputs %v", r.outputs)
	}
	if !strings.Contains(r.summary, "not ok 3") {
		t.Errorf("summary lacks the log tail")
	}
}

func TestActionManyAnnotationsInBatches(t *testing.T) {
	var df strings.Builder
	fmt.Fprintf(&df, "FROM busybox AS s0\nRUN echo %s\n", testenv.Token(t))
	for i := 1; i < 60; i++ {
		fmt.Fprintf(&df, "FROM s%d AS s%d\nRUN echo %d > /s%d\n", i-1, i, i, i)
	}
	df.WriteString("FROM s59 AS test\nRUN true\nFROM busybox AS final\n")
	ws := t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "Dockerfile"), []byte(df.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	api := githubtest.NewServer(t, token)
	r := runAction(t, ws, actionCase{event: "push", api: api, inputs: map[string]string{"test-targets": "test"}})
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	test := checkRun(t, api, "stagegate / test")
	if len(test.Annotations) != 61 {
		t.Errorf("%d annotations delivered, want 61 (one per stage)", len(test.Annotations))
	}
	for _, req := range api.Requests() {
		if req.Annotations > 50 {
			t.Errorf("a request carried %d annotations", req.Annotations)
		}
	}
	for i := 0; i < 60; i++ {
		if test.Annotations[i].StartLine != 2*i+1 {
			t.Errorf("annotation %d at line %d, want %d", i, test.Annotations[i].StartLine, 2*i+1)
			break
		}
	}
}

func TestActionForkPullRequestFallsBack(t *testing.T) {
	api := githubtest.NewServer(t, token)
	api.ExpectRejections()
	api.FailNext("POST", 100, 403, nil, `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/checks/runs#create-a-check-run"}`)
	r := runAction(t, workspace(t, "failing-test"), actionCase{event: "pull_request_fork", api: api})
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (the verdict stands)\n%s", r.code, r.stdout)
	}
	cmds := commandsOutsideStops(r.stdout)
	notice := slices.IndexFunc(cmds, func(c string) bool { return strings.HasPrefix(c, "::notice::") && strings.Contains(c, "checks: write") })
	if notice < 0 {
		t.Errorf("no notice naming the permission to add; commands:\n%s", strings.Join(cmds, "\n"))
	}
	errCmd := slices.IndexFunc(cmds, func(c string) bool { return strings.HasPrefix(c, "::error ") })
	if errCmd < 0 {
		t.Fatalf("no ::error annotation; commands:\n%s", strings.Join(cmds, "\n"))
	}
	e := cmds[errCmd]
	for _, want := range []string{"file=Dockerfile", "line=17", "endLine=17", "exit code 3"} {
		if !strings.Contains(e, want) {
			t.Errorf("error command %q lacks %q", e, want)
		}
	}
	if len(api.CheckRuns()) != 0 {
		t.Errorf("check runs were created: %+v", api.CheckRuns())
	}
	if !strings.Contains(r.summary, "not ok 3") {
		t.Error("the summary was not written")
	}
}

func TestActionRetriesAfter429(t *testing.T) {
	api := githubtest.NewServer(t, token)
	api.ExpectRejections()
	api.FailNext("POST", 1, 429, map[string]string{"Retry-After": "1"}, `{"message":"API rate limit exceeded"}`)
	r := runAction(t, workspace(t, "app"), actionCase{event: "push", api: api})
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	if c := checkRun(t, api, "stagegate / test"); c.Conclusion != "success" {
		t.Errorf("test check %s after a 429", c.Conclusion)
	}
	if slices.ContainsFunc(commandsOutsideStops(r.stdout), func(c string) bool { return strings.Contains(c, "could not") }) {
		t.Error("fell back although the retry succeeded")
	}
}

func TestActionAPIDownKeepsTheVerdict(t *testing.T) {
	for _, tc := range []struct {
		example string
		code    int
	}{{"app", 0}, {"failing-test", 1}} {
		t.Run(tc.example, func(t *testing.T) {
			api := githubtest.NewServer(t, token)
			api.ExpectRejections()
			api.Down()
			r := runAction(t, workspace(t, tc.example), actionCase{event: "push", api: api})
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r.stdout)
			}
			if !strings.Contains(r.summary, "stagegate") || r.outputs["result"] == "" {
				t.Errorf("summary or outputs missing when the API is down")
			}
			if !slices.ContainsFunc(commandsOutsideStops(r.stdout), func(c string) bool {
				return strings.HasPrefix(c, "::warning::") && strings.Contains(c, "result is unchanged")
			}) {
				t.Errorf("no warning about the API:\n%s", r.stdout)
			}
		})
	}
}

func TestActionBuildOutputCannotRunCommands(t *testing.T) {
	ws := t.TempDir()
	df := `FROM busybox AS test
RUN echo "` + testenv.Token(t) + `" && echo "::error file=x,line=1::injected" && echo "::set-output name=result::hacked" && echo "::add-mask::busybox"
FROM busybox AS final
`
	if err := os.WriteFile(filepath.Join(ws, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	api := githubtest.NewServer(t, token)
	r := runAction(t, ws, actionCase{event: "push", api: api, inputs: map[string]string{"test-targets": "test"}})
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	if !strings.Contains(r.stdout, "::error file=x,line=1::injected") {
		t.Fatal("the build's output is not in the log")
	}
	for _, c := range commandsOutsideStops(r.stdout) {
		if strings.Contains(c, "injected") || strings.Contains(c, "hacked") || strings.Contains(c, "add-mask") {
			t.Errorf("the runner would execute %q", c)
		}
	}
	if r.outputs["result"] != "passed" {
		t.Errorf("result output %q", r.outputs["result"])
	}
}

func TestActionWorkflowDispatchAndMergeGroup(t *testing.T) {
	cases := []struct {
		event  string
		inputs map[string]string
		sha    string
	}{
		// workflow_dispatch inputs reach the action through `with:`.
		{"workflow_dispatch", map[string]string{"target": "final", "test-targets": "test", "no-cache": "true"}, pushSHA},
		{"merge_group", nil, pushSHA},
	}
	for _, tc := range cases {
		t.Run(tc.event, func(t *testing.T) {
			api := githubtest.NewServer(t, token)
			r := runAction(t, workspace(t, "app"), actionCase{event: tc.event, api: api, inputs: tc.inputs})
			if r.code != 0 {
				t.Fatalf("exit %d\n%s", r.code, r.stdout)
			}
			for _, name := range []string{"stagegate / test", "stagegate / image"} {
				if c := checkRun(t, api, name); c.HeadSHA != tc.sha || c.Conclusion != "success" {
					t.Errorf("%s: sha %s conclusion %s", name, c.HeadSHA, c.Conclusion)
				}
			}
		})
	}
}

// TestActionBadInputsNameTheInput: a bad input fails the step with an error
// that names the input as the workflow writes it, never a CLI flag.
func TestActionBadInputsNameTheInput(t *testing.T) {
	cases := []struct {
		inputs map[string]string
		code   int
		want   []string
	}{
		{map[string]string{"no-cache": "yes"}, 2, []string{`input "no-cache"`, "true or false"}},
		{map[string]string{"fail-on": "sometimes"}, 2, []string{`input "fail-on"`, "failure, warnings or never"}},
		{map[string]string{"build-args": "MY VERSION=1"}, 2, []string{`input "build-args"`, "KEY=VALUE"}},
		{map[string]string{"platforms": "linux/amd64,windows/riscv128/x"}, 2, []string{`input "platforms"`}},
		{map[string]string{"test-targets": "unit"}, 2, []string{`input "test-targets"`, "base, build, test, final"}},
		{map[string]string{"target": "nope"}, 2, []string{`input "target"`, "no such stage"}},
		{map[string]string{"context": "../outside"}, 2, []string{`input "context"`, "inside the workspace"}},
		{map[string]string{"context": "nope"}, 2, []string{`input "context"`, "a directory"}},
		{map[string]string{"file": "nope/Dockerfile"}, 2, []string{`input "file"`, "no such file"}},
		{map[string]string{"build-contexts": "lib=nope"}, 2, []string{`input "build-contexts"`, "lib=", "not a directory"}},
		{map[string]string{"secret-files": "token=nope"}, 2, []string{`input "secret-files"`, "a readable file"}},
		// No builder is not a usage error: the run fails and says where to point it.
		{map[string]string{"buildkit-host": "unix:///nonexistent/buildkitd.sock"}, 1, []string{`input "buildkit-host"`, "no BuildKit builder answered"}},
	}
	cliFlag := regexp.MustCompile(`(^|[\s(,])--[a-z]`)
	for _, tc := range cases {
		t.Run(strings.Join(tc.want[:1], ""), func(t *testing.T) {
			api := githubtest.NewServer(t, token)
			r := runAction(t, workspace(t, "app"), actionCase{event: "push", api: api, inputs: tc.inputs})
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r.stdout)
			}
			errors := ""
			for _, line := range strings.Split(r.stdout, "\n") {
				if strings.HasPrefix(line, "::error") {
					errors += strings.ReplaceAll(line, "%0A", "\n") + "\n"
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(errors+r.summary, w) {
					t.Errorf("the errors and the summary lack %q:\n%s\n%s", w, errors, r.summary)
				}
			}
			if m := cliFlag.FindString(errors + r.summary); m != "" {
				t.Errorf("a CLI flag is named (%q) where the action's user needs an input:\n%s\n%s", m, errors, r.summary)
			}
			if regexp.MustCompile(`panic|goroutine \d`).MatchString(r.stdout) {
				t.Errorf("panic:\n%s", r.stdout)
			}
		})
	}
}

// TestActionPathsRelativeToTheWorkspace: the inputs' relative paths are
// relative to GITHUB_WORKSPACE even when the working directory is elsewhere,
// and the report names the Dockerfile as the repository does.
func TestActionPathsRelativeToTheWorkspace(t *testing.T) {
	ws := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, "app", "lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	df := "FROM busybox AS test\nRUN --mount=type=secret,id=token,required=true --mount=from=lib,target=/lib2 test -f /lib2/marker && echo \"" + testenv.Token(t) + "\"\nFROM busybox AS final\n"
	for name, content := range map[string]string{"app/build.Dockerfile": df, "app/lib/marker": "x", "token.txt": "t0ken"} {
		if err := os.WriteFile(filepath.Join(ws, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	api := githubtest.NewServer(t, token)
	r := runAction(t, ws, actionCase{event: "push", api: api, dir: t.TempDir(), inputs: map[string]string{
		"context":        "app",
		"file":           "app/build.Dockerfile",
		"build-contexts": "lib=app/lib",
		"secret-files":   "token=token.txt",
	}})
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	if rep := r.readReport(t); rep["file"] != "app/build.Dockerfile" || rep["context"] != "app" {
		t.Errorf("report names file %v and context %v, want them as the repository does", rep["file"], rep["context"])
	}
	for _, name := range []string{"stagegate / test", "stagegate / image"} {
		for _, a := range checkRun(t, api, name).Annotations {
			if a.Path != "app/build.Dockerfile" {
				t.Errorf("%s: annotation on %q", name, a.Path)
			}
		}
	}
}

// TestActionSecretNeverShown: a failing step prints a secret. The value
// appears nowhere: not in the log (but in ::add-mask::, which makes the
// runner hide it), the summary, the outputs, the report, or any request to
// the GitHub API.
func TestActionSecretNeverShown(t *testing.T) {
	const secret = "s3cr3t-Value-for-the-e2e-7781"
	ws := t.TempDir()
	df := `FROM busybox AS test
RUN --mount=type=secret,id=token echo "` + testenv.Token(t) + ` token: $(cat /run/secrets/token)" && exit 6
FROM busybox AS final
`
	if err := os.WriteFile(filepath.Join(ws, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	api := githubtest.NewServer(t, token)
	r := runAction(t, ws, actionCase{event: "push", api: api, inputs: map[string]string{"secrets": "token=" + secret, "test-targets": "test"}})
	if r.code != 1 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	masked := strings.Index(r.stdout, "::add-mask::"+secret)
	if masked < 0 {
		t.Fatal("the secret was not masked")
	}
	rest := strings.Replace(r.stdout, "::add-mask::"+secret, "", 1)
	if strings.Contains(rest, secret) {
		t.Error("the secret appears in the log")
	}
	if first := strings.Index(r.stdout, "::group::"); first >= 0 && first < masked {
		t.Error("something was printed before the secret was masked")
	}
	report, err := os.ReadFile(filepath.Join(r.workspace, r.outputs["report"]))
	if err != nil {
		t.Fatal(err)
	}
	places := map[string]string{"summary": r.summary, "report": string(report)}
	for k, v := range r.outputs {
		places["output "+k] = v
	}
	for i, req := range api.Requests() {
		places[fmt.Sprintf("API request %d", i)] = string(req.Body)
	}
	for where, text := range places {
		if strings.Contains(text, secret) {
			t.Errorf("the secret appears in the %s", where)
		}
	}
	if !strings.Contains(r.summary, "token: ***") {
		t.Error("the failing step's masked output is not in the summary")
	}
}

func TestActionFailOnWarnings(t *testing.T) {
	ws := t.TempDir()
	df := "FROM busybox as test\nRUN echo \"" + testenv.Token(t) + "\"\nFROM busybox AS final\n"
	if err := os.WriteFile(filepath.Join(ws, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		failOn string
		code   int
	}{{"failure", 0}, {"warnings", 1}} {
		t.Run(tc.failOn, func(t *testing.T) {
			api := githubtest.NewServer(t, token)
			r := runAction(t, ws, actionCase{event: "push", api: api, inputs: map[string]string{"fail-on": tc.failOn, "test-targets": "test"}})
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r.stdout)
			}
			var warning *githubtest.Annotation
			for _, c := range api.CheckRuns() {
				for i, a := range c.Annotations {
					if a.AnnotationLevel == "warning" {
						warning = &c.Annotations[i]
					}
				}
			}
			if warning == nil || warning.StartLine != 1 || !strings.Contains(warning.Title, "FromAsCasing") || !strings.Contains(warning.Message, "docs.docker.com") {
				t.Errorf("build check annotation %+v, want a warning on line 1 with the rule and its documentation", warning)
			}
		})
	}
}

// TestActionReportsStayOutOfTheContext: a second stagegate step of the job
// builds the same context after the first wrote its report into the
// workspace. The report folder is no part of the context: the image does not
// hold it, and COPY . stays cached.
func TestActionReportsStayOutOfTheContext(t *testing.T) {
	ws := t.TempDir()
	df := "FROM busybox AS test\nCOPY . /ctx\nRUN echo \"" + testenv.Token(t) + "\" && ! test -e /ctx/.stagegate\nFROM busybox AS final\n"
	if err := os.WriteFile(filepath.Join(ws, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	api := githubtest.NewServer(t, token)
	for i, step := range []string{"first", "second"} {
		r := runAction(t, ws, actionCase{event: "push", api: api, inputs: map[string]string{"test-targets": "test"}})
		if r.code != 0 {
			t.Fatalf("%s step: exit %d\n%s", step, r.code, r.stdout)
		}
		if _, err := os.Stat(filepath.Join(ws, filepath.FromSlash(r.outputs["report"]))); err != nil {
			t.Fatalf("%s step: no report in the workspace: %v", step, err)
		}
		var stages []result.Stage
		if err := json.Unmarshal([]byte(r.outputs["stages"]), &stages); err != nil {
			t.Fatal(err)
		}
		for _, st := range stages {
			if st.Name == "test" && i == 1 && st.Status != result.StatusCached {
				t.Errorf("%s step: test stage %s with %d/%d steps cached, want cached: the report changed the context", step, st.Status, st.CachedSteps, st.Steps)
			}
		}
	}
}
