package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/stagegate/stagegate/internal/github/githubtest"
	"github.com/stagegate/stagegate/internal/testenv"
	"gopkg.in/yaml.v3"
)

// actionImage makes the action's image the way the repository's Dockerfile
// does (a static binary and CA certificates on an empty base), from a binary
// built here with the Dockerfile's own settings (dockerfileGoBuild): base
// images cannot be pulled on this machine.
func actionImage(t *testing.T, engine testenv.Engine) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "stagegate")
	env, ldflags := dockerfileGoBuild(t)
	cmd := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, ".")
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ref := "stagegate-test/action:" + strings.ToLower(strings.ReplaceAll(testenv.Token(t), "_", "-"))
	engine.ImportImage(t, ref, map[string]string{
		"/stagegate":                         bin,
		"/etc/ssl/certs/ca-certificates.crt": "/etc/ssl/certs/ca-certificates.crt",
	}, `ENTRYPOINT ["/stagegate"]`)
	dc := engine.Client(t)
	t.Cleanup(func() {
		dc.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true})
	})
	return ref
}

// dockerfileGoBuild is how the repository's Dockerfile compiles the action's
// binary, read from it so that the image built here cannot drift from it: the
// build stage's ENV (CGO_ENABLED, GOFLAGS with its build tags) and its go
// build's -ldflags, with VERSION=e2e.
func dockerfileGoBuild(t *testing.T) (env []string, ldflags string) {
	t.Helper()
	stages, _ := ownDockerfile(t)
	ldflagsArg := regexp.MustCompile(`-ldflags "([^"]*)"`)
	for _, st := range stages {
		if st.Name != "build" {
			continue
		}
		for _, cmd := range st.Commands {
			switch c := cmd.(type) {
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					// As the frontend reads it: quotes removed.
					v, _, err := shell.NewLex('\\').ProcessWord(kv.Value, shell.EnvsFromSlice(env))
					if err != nil {
						t.Fatalf("ENV %s: %v", kv.Key, err)
					}
					env = append(env, kv.Key+"="+v)
				}
			case *instructions.RunCommand:
				if m := ldflagsArg.FindStringSubmatch(strings.Join(c.CmdLine, " ")); m != nil {
					ldflags = strings.ReplaceAll(m[1], "${VERSION}", "e2e")
				}
			}
		}
	}
	if len(env) == 0 || ldflags == "" {
		t.Fatalf("the Dockerfile's build stage sets no ENV or no go build -ldflags (env %q, ldflags %q)", env, ldflags)
	}
	return env, ldflags
}

// runnerUID owns the runner's work folder on GitHub's hosted runners (the
// "runner" user); the action's container runs as root.
const runnerUID = 1001

// runnerHost is the host side of a runner running a job: its work folder
// holds the repository's checkout (the workspace) and _temp, under which the
// runner keeps the folders it mounts into a container action.
type runnerHost struct {
	workspace       string // _work/hello-stagegate/hello-stagegate
	runnerWorkspace string // _work/hello-stagegate
	temp            string // _work/_temp
	toolCache       string
	home, workflow  string // _temp/_github_home, _temp/_github_workflow
	fileCommandsDir string // _temp/_runner_file_commands
	fileCommandsID  string // the suffix of the step's file command files
	outputFile      string // GITHUB_OUTPUT, on the host
	stepSummaryFile string // GITHUB_STEP_SUMMARY, on the host
	newerRunner     bool   // mounts _temp at /github/runner_temp
}

// newRunnerHost lays out a runner's folders as actions/runner does before a
// container action's step: the checkout of the example, _temp with
// _github_home, _github_workflow/event.json and _runner_file_commands with
// the step's empty file command files, all owned by the runner's user.
func newRunnerHost(t *testing.T, example, event string, newerRunner bool) *runnerHost {
	t.Helper()
	root := t.TempDir()
	// The runner's user must reach its work folder.
	for _, d := range []string{root, filepath.Dir(root)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	work := filepath.Join(root, "work")
	h := &runnerHost{
		runnerWorkspace: filepath.Join(work, "hello-stagegate"),
		temp:            filepath.Join(work, "_temp"),
		toolCache:       filepath.Join(root, "hostedtoolcache"),
		fileCommandsID:  "5c1a6b2e-4f1b-4b8e-9a51-0d1f7e6c3b2a",
		newerRunner:     newerRunner,
	}
	h.workspace = filepath.Join(h.runnerWorkspace, "hello-stagegate")
	h.home = filepath.Join(h.temp, "_github_home")
	h.workflow = filepath.Join(h.temp, "_github_workflow")
	h.fileCommandsDir = filepath.Join(h.temp, "_runner_file_commands")
	for _, d := range []string{h.workspace, h.home, h.workflow, h.fileCommandsDir, h.toolCache} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyDir(t, filepath.Join("..", "..", "examples", example), h.workspace)
	if event != "" {
		dt, err := os.ReadFile(filepath.Join("..", "..", "testdata", "events", event+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(h.workflow, "event.json"), dt, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, prefix := range []string{"add_path_", "set_env_", "save_state_", "set_output_", "step_summary_"} {
		if err := os.WriteFile(filepath.Join(h.fileCommandsDir, prefix+h.fileCommandsID), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h.outputFile = filepath.Join(h.fileCommandsDir, "set_output_"+h.fileCommandsID)
	h.stepSummaryFile = filepath.Join(h.fileCommandsDir, "step_summary_"+h.fileCommandsID)
	if err := filepath.Walk(work, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, runnerUID, runnerUID)
	}); err != nil {
		t.Fatal(err)
	}
	return h
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		info, _ := e.Info()
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, info.Mode()); err != nil {
			t.Fatal(err)
		}
	}
}

// binds are the runner's mounts for a container action (actions/runner,
// src/Runner.Worker/Handlers/ContainerActionHandler.cs: MountVolumes), and
// as a real job log shows them, e.g.
//
//	docker run --name c6072e... --label 5c6072 --workdir /github/workspace --rm -e "INPUT_..." ...
//	  -e GITHUB_ACTIONS=true -e CI=true -v "/var/run/docker.sock":"/var/run/docker.sock"
//	  -v "/home/runner/work/_temp":"/github/runner_temp"
//	  -v "/home/runner/work/_temp/_github_home":"/github/home"
//	  -v "/home/runner/work/_temp/_github_workflow":"/github/workflow"
//	  -v "/home/runner/work/_temp/_runner_file_commands":"/github/file_commands"
//	  -v "/home/runner/work/<repo>/<repo>":"/github/workspace" IMAGE ARGS
//
// Newer runners add the _temp mount; older ones (the handler's source above)
// do not. Nothing else is mounted: not RUNNER_TEMP at its host path.
func (h *runnerHost) binds(engine testenv.Engine) []string {
	b := []string{strings.TrimPrefix(engine.Host, "unix://") + ":/var/run/docker.sock"}
	if h.newerRunner {
		b = append(b, h.temp+":/github/runner_temp")
	}
	return append(b,
		h.home+":/github/home",
		h.workflow+":/github/workflow",
		h.fileCommandsDir+":/github/file_commands",
		h.workspace+":/github/workspace",
	)
}

// env is the environment the runner gives a container action: an INPUT_
// variable for every input of action.yml (the step's `with:` over the
// defaults), the GITHUB_*, RUNNER_* and ACTIONS_* variables of the `-e` list
// above, HOME, GITHUB_ACTIONS and CI. The handler translates values under
// the folders it mounts to the container's paths (AddPathTranslateMapping):
// GITHUB_WORKSPACE, GITHUB_EVENT_PATH, the file commands and HOME.
// RUNNER_TEMP, RUNNER_WORKSPACE and RUNNER_TOOL_CACHE keep the host's paths,
// which do not exist in the container. No BUILDKIT_HOST and no token but the
// github-token input.
func (h *runnerHost) env(t *testing.T, event, apiURL string, with map[string]string) []string {
	t.Helper()
	m := actionManifest(t)
	inputs := map[string]string{}
	for name, in := range m.Inputs {
		inputs[name] = in.Default
	}
	inputs["github-token"] = token // ${{ github.token }}
	for k, v := range with {
		inputs[k] = v
	}
	ref, refName, headRef, baseRef := "refs/heads/main", "main", "", ""
	if event == "pull_request" {
		ref, refName, headRef, baseRef = "refs/pull/42/merge", "42/merge", "feature", "main"
	}
	fc := func(prefix string) string { return "/github/file_commands/" + prefix + h.fileCommandsID }
	env := map[string]string{
		"HOME":                       "/github/home",
		"GITHUB_JOB":                 "image",
		"GITHUB_REF":                 ref,
		"GITHUB_SHA":                 pushSHA,
		"GITHUB_REPOSITORY":          "octo-org/hello-stagegate",
		"GITHUB_REPOSITORY_OWNER":    "octo-org",
		"GITHUB_REPOSITORY_OWNER_ID": "6811672",
		"GITHUB_RUN_ID":              "77",
		"GITHUB_RUN_NUMBER":          "12",
		"GITHUB_RETENTION_DAYS":      "90",
		"GITHUB_RUN_ATTEMPT":         "1",
		"GITHUB_ACTOR_ID":            "583231",
		"GITHUB_ACTOR":               "octocat",
		"GITHUB_WORKFLOW":            "image",
		"GITHUB_HEAD_REF":            headRef,
		"GITHUB_BASE_REF":            baseRef,
		"GITHUB_EVENT_NAME":          event,
		"GITHUB_SERVER_URL":          "https://github.com",
		"GITHUB_API_URL":             apiURL,
		"GITHUB_GRAPHQL_URL":         apiURL + "/graphql",
		"GITHUB_REF_NAME":            refName,
		"GITHUB_REF_PROTECTED":       "false",
		"GITHUB_REF_TYPE":            "branch",
		"GITHUB_WORKFLOW_REF":        "octo-org/hello-stagegate/.github/workflows/image.yml@" + ref,
		"GITHUB_WORKFLOW_SHA":        pushSHA,
		"GITHUB_REPOSITORY_ID":       "759204311",
		"GITHUB_TRIGGERING_ACTOR":    "octocat",
		"GITHUB_WORKSPACE":           "/github/workspace",
		"GITHUB_ACTION":              "gate", // the step's id
		"GITHUB_EVENT_PATH":          "/github/workflow/event.json",
		"GITHUB_ACTION_REPOSITORY":   "stagegate/stagegate",
		"GITHUB_ACTION_REF":          "v1",
		"GITHUB_PATH":                fc("add_path_"),
		"GITHUB_ENV":                 fc("set_env_"),
		"GITHUB_STEP_SUMMARY":        fc("step_summary_"),
		"GITHUB_STATE":               fc("save_state_"),
		"GITHUB_OUTPUT":              fc("set_output_"),
		"RUNNER_OS":                  "Linux",
		"RUNNER_ARCH":                "X64",
		"RUNNER_NAME":                "GitHub Actions 1000000001",
		"RUNNER_ENVIRONMENT":         "github-hosted",
		"RUNNER_TOOL_CACHE":          h.toolCache,
		"RUNNER_TEMP":                h.temp,
		"RUNNER_WORKSPACE":           h.runnerWorkspace,
		"ACTIONS_RUNTIME_URL":        apiURL + "/runtime/",
		"ACTIONS_RUNTIME_TOKEN":      "runtime-token-for-the-test",
		"ACTIONS_CACHE_URL":          apiURL + "/cache/",
		"ACTIONS_RESULTS_URL":        apiURL + "/results/",
		"ACTIONS_ORCHESTRATION_ID":   "7f3c2a9e-2b1d-4c8e-8f6a-3e5d1c0b9a87.image.__default",
		"GITHUB_ACTIONS":             "true",
		"CI":                         "true",
	}
	for name, v := range inputs {
		env["INPUT_"+strings.ToUpper(strings.ReplaceAll(name, " ", "_"))] = v
	}
	var out []string
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

type manifest struct {
	Inputs map[string]struct {
		Default string `yaml:"default"`
	} `yaml:"inputs"`
	Runs struct {
		Args []string `yaml:"args"`
	} `yaml:"runs"`
}

// actionManifest is action.yml: its inputs and the args the runner passes.
func actionManifest(t *testing.T) manifest {
	t.Helper()
	dt, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.Unmarshal(dt, &m); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return m
}

// readmeOutputs are the outputs the README's table documents.
func readmeOutputs(t *testing.T) []string {
	t.Helper()
	dt, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(dt), "### Outputs\n")
	if !ok {
		t.Fatal("the README has no Outputs section")
	}
	section, _, _ = strings.Cut(section, "\n#")
	var names []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\|").FindAllStringSubmatch(section, -1) {
		names = append(names, m[1])
	}
	if len(names) == 0 {
		t.Fatal("the README's Outputs section lists no output")
	}
	return names
}

// containerCase is one step running the action's image.
type containerCase struct {
	name, example, event string
	with                 map[string]string
	// interrupt, when set, is sent once the build prints it, as `docker
	// run`'s signal proxy passes the runner's SIGINT on (ContainerKill).
	interrupt string
	code      int
	result    string
	failed    string // the failed-stage output
	built     bool   // the final image was built (and loaded)
	headSHA   string
	checks    map[string]string // conclusion of each check run
}

// TestContainerAction runs the action's image as GitHub's runner runs a
// container action, with exactly its mounts and environment, in both runner
// variants (with and without /github/runner_temp), on the pass, fail,
// workflow_dispatch and cancelled cases. A later step on the host then reads
// the outputs from the file command and uses every output of the README's
// table, the report included. The action builds on the engine through the
// mounted socket and loads the final image into it. On the test engine
// (containerd image store) and on one with the classic image store, as
// GitHub's hosted runners have (the pass case).
func TestContainerAction(t *testing.T) {
	passed := map[string]string{"stagegate / test": "success", "stagegate / image": "success"}
	cases := []containerCase{
		{name: "pass", example: "app", event: "pull_request", code: 0, result: "passed", built: true, headSHA: prHeadSHA, checks: passed},
		{name: "fail", example: "failing-test", event: "pull_request", code: 1, result: "failed", failed: "test", headSHA: prHeadSHA,
			checks: map[string]string{"stagegate / test": "failure", "stagegate / image": "failure"}},
		{name: "workflow_dispatch", example: "app", event: "workflow_dispatch", with: map[string]string{"target": "final", "test-targets": "test", "no-cache": "true"},
			code: 0, result: "passed", built: true, headSHA: pushSHA, checks: passed},
		{name: "cancelled", event: "push", with: map[string]string{"test-targets": "test"}, interrupt: "long-step-started", code: 130, result: "cancelled", headSHA: pushSHA,
			checks: map[string]string{"stagegate / test": "cancelled", "stagegate / image": "cancelled"}},
	}
	variants := []struct {
		name  string
		newer bool
	}{{"older-runner", false}, {"newer-runner", true}}

	t.Run("containerd-store", func(t *testing.T) {
		engine := testenv.SharedEngine(t)
		image := actionImage(t, engine)
		checkImage(t, engine, image)
		for _, v := range variants {
			for _, tc := range cases {
				t.Run(v.name+"/"+tc.name, func(t *testing.T) { runContainerCase(t, engine, image, v.newer, tc) })
			}
		}
	})
	t.Run("classic-store", func(t *testing.T) {
		engine := testenv.StartClassicStoreEnvironment(t).Engine()
		image := actionImage(t, engine)
		for _, v := range variants {
			t.Run(v.name+"/"+cases[0].name, func(t *testing.T) { runContainerCase(t, engine, image, v.newer, cases[0]) })
		}
	})
}

// checkImage measures the action's image and its cold start.
func checkImage(t *testing.T, engine testenv.Engine, image string) {
	dc := engine.Client(t)
	inspect, err := dc.ImageInspect(context.Background(), image)
	if err != nil {
		t.Fatal(err)
	}
	// The image's one layer holds the binary and the certificates; the
	// engine's own figure (containerd store) also counts the compressed blob.
	var layer int64
	if hist, err := dc.ImageHistory(context.Background(), image); err == nil {
		for _, h := range hist.Items {
			layer += h.Size
		}
	}
	start := time.Now()
	out, err := exec.Command("docker", "-H", engine.Host, "run", "--rm", image, "--version").CombinedOutput()
	if err == nil {
		t.Logf("action image: layer %.1f MB (the engine reports %.1f MB: with the containerd store, the compressed blob too); cold start `docker run --rm IMAGE --version`: %s (%s)",
			float64(layer)/1e6, float64(inspect.Size)/1e6, time.Since(start).Round(time.Millisecond), strings.TrimSpace(string(out)))
	}
	if layer == 0 || layer > 25e6 {
		t.Errorf("the action image's content is %d bytes, want under 25 MB", layer)
	}
}

func runContainerCase(t *testing.T, engine testenv.Engine, image string, newerRunner bool, tc containerCase) {
	dc := engine.Client(t)
	example := tc.example
	if example == "" {
		example = "app"
	}
	h := newRunnerHost(t, example, tc.event, newerRunner)
	if tc.interrupt != "" {
		if err := os.WriteFile(filepath.Join(h.workspace, "Dockerfile"), []byte(`FROM busybox AS test
RUN echo "`+testenv.Token(t)+`" && echo long-step-started && sleep 120

FROM busybox AS final
`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tag := "stagegate-test/app:" + strings.ToLower(strings.ReplaceAll(testenv.Token(t), "_", "-"))
	with := map[string]string{"load": "true", "tags": tag}
	for k, v := range tc.with {
		with[k] = v
	}
	t.Cleanup(func() { dc.ImageRemove(context.Background(), tag, client.ImageRemoveOptions{Force: true}) })
	api := githubtest.NewServer(t, token)

	id := engine.RunContainer(t, "", &container.Config{
		Image:      image,
		Cmd:        actionManifest(t).Runs.Args,
		Env:        h.env(t, tc.event, api.URL, with),
		WorkingDir: "/github/workspace",
	}, &container.HostConfig{
		// The one difference from the runner (which uses the default
		// bridge, or the job's network): the fake GitHub API listens on
		// 127.0.0.1.
		NetworkMode: "host",
		Binds:       h.binds(engine),
	})
	if tc.interrupt != "" {
		waitUntil(t, "the long step", func() bool { return strings.Contains(engine.ContainerLogs(t, id), tc.interrupt) })
		if _, err := dc.ContainerKill(context.Background(), id, client.ContainerKillOptions{Signal: "SIGINT"}); err != nil {
			t.Fatal(err)
		}
	}
	wait := dc.ContainerWait(context.Background(), id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	var code int64
	select {
	case r := <-wait.Result:
		code = r.StatusCode
	case err := <-wait.Error:
		t.Fatal(err)
	case <-time.After(5 * time.Minute):
		t.Fatal("the action did not finish")
	}
	logs := engine.ContainerLogs(t, id)
	if int(code) != tc.code {
		t.Fatalf("exit %d, want %d\n%s", code, tc.code, logs)
	}
	if strings.Contains(logs, "::warning::") && strings.Contains(logs, "not written") {
		t.Errorf("the action could not write something:\n%s", logs)
	}

	outputs := laterStep(t, h, dc, tc)
	if t.Failed() {
		t.Logf("the action's log:\n%s", logs)
	}
	if len(outputs) > 0 && tc.built {
		if _, err := dc.ImageInspect(context.Background(), tag); err != nil {
			t.Errorf("the loaded image is not in the engine: %v", err)
		}
	}
	summary, err := os.ReadFile(h.stepSummaryFile)
	if err != nil || !strings.Contains(string(summary), "| final") {
		t.Errorf("step summary (%v):\n%s", err, summary)
	}
	for name, want := range tc.checks {
		c := checkRun(t, api, name)
		if c.HeadSHA != tc.headSHA || c.Conclusion != want {
			t.Errorf("%s: %s on %s, want %s on %s", name, c.Conclusion, c.HeadSHA, want, tc.headSHA)
		}
		for _, a := range c.Annotations {
			if a.Path != "Dockerfile" {
				t.Errorf("annotation path %q, want Dockerfile (relative to the repository)", a.Path)
			}
		}
	}
	if !strings.Contains(logs, "::group::stagegate: build") {
		t.Errorf("logs:\n%s", logs)
	}
}

// laterStep is a `run` step after the action's, on the runner: it reads the
// outputs the runner collects from the host side of the file commands
// mount, and uses each output the README documents, as the workflow's author
// would (`${{ steps.gate.outputs.NAME }}`), the report by opening it at the
// path given from the step's working directory, the workspace. It returns
// the outputs.
func laterStep(t *testing.T, h *runnerHost, dc *client.Client, tc containerCase) map[string]string {
	t.Helper()
	outputs := readOutputs(t, h.outputFile)
	var report struct {
		Result string            `json:"result"`
		Stages []json.RawMessage `json:"stages"`
	}
	use := map[string]func(v string) string{
		"result": func(v string) string {
			if v != tc.result {
				return "want " + tc.result
			}
			return ""
		},
		"failed-stage": func(v string) string {
			if v != tc.failed {
				return "want " + strconv.Quote(tc.failed)
			}
			return ""
		},
		"stages": func(v string) string {
			var stages []struct{ Name, Status string }
			if err := json.Unmarshal([]byte(v), &stages); err != nil || len(stages) == 0 {
				return "want a JSON array of the stages"
			}
			return ""
		},
		"image-size": func(v string) string {
			n, err := strconv.ParseInt(v, 10, 64)
			if tc.built != (err == nil && n > 0) {
				return "want a size in bytes exactly when the image was built"
			}
			return ""
		},
		"size-delta": func(v string) string {
			// The fake API holds no earlier run to compare with.
			if v != "" {
				return "want none: there is no reference"
			}
			return ""
		},
		"digest": func(v string) string {
			if tc.built != strings.HasPrefix(v, "sha256:") {
				return "want a digest exactly when the image was built"
			}
			return ""
		},
		"imageid": func(v string) string {
			if !tc.built {
				if v != "" {
					return "want none"
				}
				return ""
			}
			if _, err := dc.ImageInspect(context.Background(), v); err != nil { // docker image inspect $ID
				return "the engine does not know it: " + err.Error()
			}
			return ""
		},
		"metadata": func(v string) string {
			var md map[string]any
			if err := json.Unmarshal([]byte(v), &md); err != nil || tc.built != (len(md) > 0) {
				return "want a JSON object, empty exactly when no image was built"
			}
			return ""
		},
		"report": func(v string) string {
			if v == "" || filepath.IsAbs(v) {
				return "want a path relative to the workspace"
			}
			dt, err := os.ReadFile(filepath.Join(h.workspace, v)) // jq . "$REPORT"
			if err != nil {
				return err.Error()
			}
			if err := json.Unmarshal(dt, &report); err != nil {
				return "not JSON: " + err.Error()
			}
			if report.Result != outputs["result"] || len(report.Stages) == 0 {
				return "the report's result " + report.Result + " is not the result output's"
			}
			return ""
		},
	}
	for _, name := range readmeOutputs(t) {
		check, ok := use[name]
		if !ok {
			t.Errorf("the README documents output %q, which this test does not use", name)
			continue
		}
		v, set := outputs[name]
		if !set {
			t.Errorf("output %q is not set", name)
			continue
		}
		if problem := check(v); problem != "" {
			t.Errorf("output %s=%q: %s", name, v, problem)
		}
	}
	checkReportDir(t, h.workspace)
	return outputs
}

// checkReportDir: what the action leaves in the workspace belongs to the
// runner's user, who can delete it (actions/checkout cleans the workspace of
// a later job), and git ignores it.
func checkReportDir(t *testing.T, workspace string) {
	t.Helper()
	dir := filepath.Join(workspace, ".stagegate")
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if st := info.Sys().(*syscall.Stat_t); st.Uid != runnerUID {
			t.Errorf("%s belongs to uid %d, not to the runner's user %d", p, st.Uid, runnerUID)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if ignore, err := os.ReadFile(filepath.Join(dir, ".gitignore")); err != nil || !hasLine(string(ignore), "*") {
		t.Errorf(".stagegate/.gitignore (%v): %q", err, ignore)
	}
	rm := exec.Command("rm", "-rf", dir)
	rm.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: runnerUID, Gid: runnerUID}}
	if out, err := rm.CombinedOutput(); err != nil {
		t.Errorf("the runner's user cannot delete %s: %v\n%s", dir, err, out)
	}
}

func hasLine(s, line string) bool {
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == line {
			return true
		}
	}
	return false
}
