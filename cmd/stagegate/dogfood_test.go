package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"gopkg.in/yaml.v3"

	"github.com/stagegate/stagegate/internal/github/githubtest"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/testenv"
)

// TestOwnDockerfile gates this repository's own Dockerfile with the action,
// with the inputs .github/workflows/ci.yml's stagegate job passes: the test
// stage runs go vet and every test inside golang:<go.mod's version>-bookworm
// (which the test environment serves, made offline), where no test
// environment exists, so the integration tests must skip cleanly there; the
// final stage is the action's image. On GitHub that job gates every pull
// request; here, nothing else would notice when it breaks.
func TestOwnDockerfile(t *testing.T) {
	_ = testenv.BuildKitHost(t) // skips (or fails) without the test environment
	inputs := ciGateInputs(t)
	// A cold build compiles the module twice (the binary, then the tests): on a
	// busy machine the action's own timeout, a minute before the test binary's,
	// ends it with the action's report instead of a goroutine dump.
	if deadline, ok := t.Deadline(); ok && inputs["timeout"] == "" {
		left := time.Until(deadline) - time.Minute
		if left < time.Minute {
			t.Fatalf("only %s left before the test binary's timeout", time.Until(deadline).Round(time.Second))
		}
		inputs["timeout"] = left.Round(time.Second).String()
	}
	api := githubtest.NewServer(t, token)
	start := time.Now()
	r := runAction(t, repositoryCopy(t), actionCase{event: "push", api: api, inputs: inputs})
	t.Logf("stagegate on its own Dockerfile (inputs %v): exit %d in %s", inputs, r.code, time.Since(start).Round(100*time.Millisecond))
	var stages []result.Stage
	if err := json.Unmarshal([]byte(r.outputs["stages"]), &stages); err != nil {
		t.Fatalf("stages output %q: %v\n%s", r.outputs["stages"], err, r.stdout)
	}
	for _, s := range stages {
		t.Logf("stage %-6s %-7s %6.1fs  %d/%d steps cached  size %s", s.Name, s.Status, s.Duration, s.CachedSteps, s.Steps, bytesOf(s.Size))
	}
	if r.code != 0 || r.outputs["result"] != "passed" {
		t.Fatalf("exit %d, result %q, failed stage %q\n%s", r.code, r.outputs["result"], r.outputs["failed-stage"], r.stdout)
	}
	for _, name := range []string{"stagegate / test", "stagegate / image"} {
		if c := checkRun(t, api, name); c.Conclusion != "success" {
			t.Errorf("%s: %s, want success", name, c.Conclusion)
		}
	}
	want := map[string]bool{"build": true, "test": true, "final": true}
	for _, s := range stages {
		if !want[s.Name] {
			continue
		}
		delete(want, s.Name)
		if s.Status != result.StatusPassed && s.Status != result.StatusCached {
			t.Errorf("stage %s: %s", s.Name, s.Status)
		}
		// The action's image is the static binary and the CA bundle, under
		// 25 MB as the runner builds it from this Dockerfile.
		if s.Name == "final" && (s.Size == nil || *s.Size > 25e6) {
			t.Errorf("final image size %s, want the binary and CA bundle only, under 25 MB", bytesOf(s.Size))
		}
	}
	if len(want) != 0 {
		t.Errorf("stages %v were not reported", want)
	}
}

// ownDockerfile parses the repository's Dockerfile with BuildKit's parser:
// its stages and the ARGs before the first FROM.
func ownDockerfile(t *testing.T) ([]instructions.Stage, []instructions.ArgCommand) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ast, err := parser.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	stages, metaArgs, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		t.Fatal(err)
	}
	return stages, metaArgs
}

// TestDockerfileGoIsGoMods: the image builds and tests with the Go version
// go.mod asks for. A newer golang image would hide a module that no longer
// builds with the version it declares; an older one fails (GOTOOLCHAIN=local).
func TestDockerfileGoIsGoMods(t *testing.T) {
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	_, metaArgs := ownDockerfile(t)
	var goVersion string
	for _, arg := range metaArgs {
		for _, kv := range arg.Args {
			if kv.Key == "GO_VERSION" && kv.Value != nil {
				goVersion = *kv.Value
			}
		}
	}
	if goVersion != string(m[1]) {
		t.Errorf("Dockerfile: ARG GO_VERSION=%s, go.mod: go %s", goVersion, m[1])
	}
}

// ciGateInputs returns the inputs .github/workflows/ci.yml's stagegate job
// passes to this action (uses: ./).
func ciGateInputs(t *testing.T) map[string]string {
	t.Helper()
	dt, err := os.ReadFile("../../.github/workflows/ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Uses string            `yaml:"uses"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(dt, &wf); err != nil {
		t.Fatalf("ci.yml: %v", err)
	}
	for _, step := range wf.Jobs["stagegate"].Steps {
		if step.Uses == "./" {
			return step.With
		}
	}
	t.Fatal("ci.yml's stagegate job has no step that uses ./")
	return nil
}

// repositoryCopy copies this repository's working tree (without .git) into a
// new workspace, as actions/checkout would give it: the run writes into its
// workspace, and the tree under test must not change.
func repositoryCopy(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		switch {
		case d.IsDir() && d.Name() == ".git":
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		case !d.Type().IsRegular():
			return nil // a checkout holds no sockets or devices; a symlink would be a test's leftover
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		dt, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), dt, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copy the repository: %v", err)
	}
	return dst
}

func bytesOf(n *int64) string {
	if n == nil {
		return "unknown"
	}
	return fmt.Sprintf("%.1f MiB", float64(*n)/(1<<20))
}
