package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/stagegate/stagegate/internal/github/githubtest"
	"github.com/stagegate/stagegate/internal/testenv"
)

// actionImage makes the action's image the way the repository's Dockerfile
// does (a static binary and CA certificates on an empty base), from a binary
// built here: base images cannot be pulled on this machine.
func actionImage(t *testing.T, engine testenv.Engine) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "stagegate")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=e2e", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
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

// TestContainerAction runs the action's image exactly as the runner runs a
// container action: the workspace mounted as the working directory, the file
// commands and the event under /github, the Docker socket mounted, INPUT_*
// and GITHUB_* set, no BUILDKIT_HOST. It builds on the engine through the
// socket and loads the final image into it. On the test engine (containerd
// image store) and on one with the classic image store, as GitHub's hosted
// runners have.
func TestContainerAction(t *testing.T) {
	t.Run("containerd-store", func(t *testing.T) { testContainerAction(t, testenv.SharedEngine(t)) })
	t.Run("classic-store", func(t *testing.T) {
		testContainerAction(t, testenv.StartClassicStoreEnvironment(t).Engine())
	})
}

func testContainerAction(t *testing.T, engine testenv.Engine) {
	dc := engine.Client(t)
	image := actionImage(t, engine)
	inspect, err := dc.ImageInspect(context.Background(), image)
	if err != nil {
		t.Fatal(err)
	}
	// The image's one layer holds the binary and the certificates; the
	// engine's own figure (containerd store) also counts the compressed blob.
	var layer int64
	hist, err := dc.ImageHistory(context.Background(), image)
	if err == nil {
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

	api := githubtest.NewServer(t, token)
	ws := workspace(t, "app")
	fileCommands, workflow, temp := t.TempDir(), t.TempDir(), t.TempDir()
	for _, f := range []string{"output", "summary"} {
		if err := os.WriteFile(filepath.Join(fileCommands, f), nil, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	event, err := os.ReadFile("../../testdata/events/pull_request.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(workflow, "event.json"), event, 0o644); err != nil {
		t.Fatal(err)
	}
	tag := "stagegate-test/app:" + strings.ToLower(strings.ReplaceAll(testenv.Token(t), "_", "-"))
	env := []string{
		"GITHUB_ACTIONS=true", "CI=true",
		"GITHUB_WORKSPACE=/github/workspace",
		"GITHUB_EVENT_NAME=pull_request",
		"GITHUB_EVENT_PATH=/github/workflow/event.json",
		"GITHUB_OUTPUT=/github/file_commands/output",
		"GITHUB_STEP_SUMMARY=/github/file_commands/summary",
		"GITHUB_SHA=" + pushSHA,
		"GITHUB_REPOSITORY=octo-org/hello-stagegate",
		"GITHUB_SERVER_URL=https://github.com",
		"GITHUB_API_URL=" + api.URL,
		"GITHUB_RUN_ID=77",
		"RUNNER_TEMP=" + temp,
		"HOME=/github/home",
		"INPUT_GITHUB-TOKEN=" + token,
		"INPUT_TEST-TARGETS=test",
		"INPUT_LOAD=true",
		"INPUT_TAGS=" + tag,
	}
	id := engine.RunContainer(t, "", &container.Config{Image: image, Env: env, WorkingDir: "/github/workspace"}, &container.HostConfig{
		NetworkMode: "host", // the fake GitHub API listens on 127.0.0.1
		Binds: []string{
			ws + ":/github/workspace",
			fileCommands + ":/github/file_commands",
			workflow + ":/github/workflow",
			temp + ":" + temp,
			strings.TrimPrefix(engine.Host, "unix://") + ":/var/run/docker.sock",
		},
	})
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
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, logs)
	}
	outputs := readOutputs(t, filepath.Join(fileCommands, "output"))
	if outputs["result"] != "passed" || outputs["image-size"] == "" || !strings.HasPrefix(outputs["digest"], "sha256:") || !strings.HasPrefix(outputs["imageid"], "sha256:") {
		t.Errorf("outputs %v", outputs)
	}
	summary, _ := os.ReadFile(filepath.Join(fileCommands, "summary"))
	if !strings.Contains(string(summary), "| final") {
		t.Errorf("summary:\n%s", summary)
	}
	for _, name := range []string{"stagegate / test", "stagegate / image"} {
		c := checkRun(t, api, name)
		if c.HeadSHA != prHeadSHA || c.Conclusion != "success" {
			t.Errorf("%s: %s on %s", name, c.Conclusion, c.HeadSHA)
		}
		for _, a := range c.Annotations {
			if a.Path != "Dockerfile" {
				t.Errorf("annotation path %q, want Dockerfile (relative to the repository)", a.Path)
			}
		}
	}
	if _, err := dc.ImageInspect(context.Background(), tag); err != nil {
		t.Errorf("the loaded image is not in the engine: %v", err)
	}
	t.Cleanup(func() { dc.ImageRemove(context.Background(), tag, client.ImageRemoveOptions{Force: true}) })
	if !strings.Contains(logs, "::group::stagegate: build") {
		t.Errorf("logs:\n%s", logs)
	}
}
