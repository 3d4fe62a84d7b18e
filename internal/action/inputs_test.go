package action

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sethvargo/go-githubactions"
	"github.com/stagegate/stagegate/internal/options"
	"gopkg.in/yaml.v3"
)

func newAction(inputs map[string]string, asked map[string]bool) *githubactions.Action {
	return githubactions.New(githubactions.WithGetenv(func(k string) string {
		if name, ok := strings.CutPrefix(k, "INPUT_"); ok && asked != nil {
			asked[name] = true
		}
		for n, v := range inputs {
			if "INPUT_"+strings.ToUpper(n) == k {
				return v
			}
		}
		return ""
	}))
}

func TestReadInputsAsUsersWriteThem(t *testing.T) {
	in, err := ReadInputs(newAction(map[string]string{
		"test-targets": "unit\nlint, integration\n",
		"build-args":   "VERSION=1.2\nFLAGS=-a,-b=c\n",
		"no-cache":     "True",
		"annotations":  "false",
		"platforms":    "linux/amd64\nlinux/arm64",
		"tags":         "ghcr.io/o/app:1.2\nghcr.io/o/app:latest",
		"test-timeout": "90s",
		"fail-fast":    "false",
		"sizes":        "FALSE",
	}, nil), "")
	if err != nil {
		t.Fatal(err)
	}
	g := in.Gate
	if !slices.Equal(g.TestTargets, []string{"unit", "lint", "integration"}) {
		t.Errorf("test targets %q", g.TestTargets)
	}
	if g.BuildArgs["VERSION"] != "1.2" || g.BuildArgs["FLAGS"] != "-a,-b=c" {
		t.Errorf("build args %v", g.BuildArgs)
	}
	if !g.NoCache || in.Annotations || !in.Summary || !g.NoFailFast || g.TestTimeout.Seconds() != 90 || !g.SkipSizes {
		t.Errorf("booleans/durations wrong: %+v", in)
	}
	if len(g.Platforms) != 2 || len(g.Tags) != 2 || in.CheckName != "stagegate" || in.FailOn != options.FailOnFailure {
		t.Errorf("lists or defaults wrong: %+v", in)
	}
}

func TestBadInputsNameTheInput(t *testing.T) {
	cases := []struct{ input, value, want string }{
		{"no-cache", "yes", "true or false"},
		{"summary", "yes", "true or false"},
		{"sizes", "off", "true or false"},
		{"fail-on", "sometimes", "failure, warnings or never"},
		{"build-args", "MY VERSION=1", "KEY=VALUE"},
		{"labels", "=x", "KEY=VALUE"},
		{"platforms", "linux/amd64,linx/arm64", "a platform like"},
		{"test-mode", "maybe", "auto, build or run"},
		{"test-timeout", "ten minutes", "a duration"},
		{"cache-from", "type=s4,ref=x", "type=registry"},
		{"secrets", "id=x,src=/nonexistent/file", "a readable file"},
		{"provenance", "full", "mode=min"},
		{"compare", "maybe", "true or false"},
		{"budgets", "final<=50MB\nfinal<=50XB", `"final<=50XB" is not valid: expected a budget like final<=50MB, final:+5% or *:layers+0 (budget 2) (unknown unit "XB"`},
	}
	for _, tc := range cases {
		t.Run(tc.input, func(t *testing.T) {
			_, err := ReadInputs(newAction(map[string]string{tc.input: tc.value}, nil), "")
			if err == nil || !strings.Contains(err.Error(), `"`+tc.input+`"`) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %q and saying %q", err, tc.input, tc.want)
			}
		})
	}
}

// TestActionYAMLDeclaresEveryInput keeps action.yml, the code and the README
// in step: every input the code reads is declared with a description and a
// default, and documented in the README.
func TestActionYAMLDeclaresEveryInput(t *testing.T) {
	var spec struct {
		Inputs map[string]struct {
			Description string  `yaml:"description"`
			Default     *string `yaml:"default"`
		} `yaml:"inputs"`
		Outputs map[string]any `yaml:"outputs"`
		Runs    struct {
			Using string `yaml:"using"`
		} `yaml:"runs"`
	}
	dt, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(dt, &spec); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if spec.Runs.Using != "docker" {
		t.Errorf("runs.using %q", spec.Runs.Using)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	asked := map[string]bool{}
	_, _ = ReadInputs(newAction(nil, asked), "")
	for name := range asked {
		in, ok := spec.Inputs[strings.ToLower(name)]
		if !ok {
			t.Errorf("the code reads input %q, action.yml does not declare it", strings.ToLower(name))
			continue
		}
		if in.Description == "" || in.Default == nil {
			t.Errorf("input %q lacks a description or a default", strings.ToLower(name))
		}
	}
	for name := range spec.Inputs {
		if !asked[strings.ToUpper(name)] {
			t.Errorf("action.yml declares input %q, the code never reads it", name)
		}
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("the README does not document input %q", name)
		}
	}
	for _, out := range []string{"result", "failed-stage", "stages", "image-size", "size-delta", "report", "digest", "imageid", "metadata"} {
		if _, ok := spec.Outputs[out]; !ok {
			t.Errorf("output %q is not declared", out)
		}
	}
}

func TestSizesAreMeasuredByDefault(t *testing.T) {
	in, err := ReadInputs(newAction(map[string]string{}, nil), "")
	if err != nil {
		t.Fatal(err)
	}
	if in.Gate.SkipSizes {
		t.Error("sizes are skipped without the sizes input")
	}
}

// TestPathInputsAreRelativeToTheWorkspace: the workflow's author writes paths
// relative to the repository; they are resolved against the workspace, not
// against the process's working directory (here the package's directory).
func TestPathInputsAreRelativeToTheWorkspace(t *testing.T) {
	ws := t.TempDir()
	for _, f := range []string{"app/Dockerfile", "secrets/token", "lib/go.mod"} {
		if err := os.MkdirAll(filepath.Join(ws, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ws, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		inputs map[string]string
		check  func(*Inputs) (got, want any)
	}{
		{"default context", nil, func(in *Inputs) (any, any) { return in.Gate.ContextDir, ws }},
		{"context .", map[string]string{"context": "."}, func(in *Inputs) (any, any) { return in.Gate.ContextDir, ws }},
		{"context", map[string]string{"context": "app"}, func(in *Inputs) (any, any) { return in.Gate.ContextDir, filepath.Join(ws, "app") }},
		{"file", map[string]string{"file": "app/Dockerfile"}, func(in *Inputs) (any, any) { return in.Gate.DockerfilePath(), filepath.Join(ws, "app/Dockerfile") }},
		{"file of a context", map[string]string{"context": "app"}, func(in *Inputs) (any, any) { return in.Gate.DockerfilePath(), filepath.Join(ws, "app/Dockerfile") }},
		{"build-contexts", map[string]string{"build-contexts": "lib=lib\nbase=docker-image://alpine\nt=target:test"}, func(in *Inputs) (any, any) {
			return in.Gate.BuildContexts, map[string]string{"lib": filepath.Join(ws, "lib"), "base": "docker-image://alpine", "t": "target:test"}
		}},
		{"cache-from", map[string]string{"cache-from": "type=local,src=.cache"}, func(in *Inputs) (any, any) { return in.Gate.CacheFrom[0].Attrs["src"], filepath.Join(ws, ".cache") }},
		{"cache-to", map[string]string{"cache-to": "type=local,dest=.cache"}, func(in *Inputs) (any, any) { return in.Gate.CacheTo[0].Attrs["dest"], filepath.Join(ws, ".cache") }},
		{"secret-files", map[string]string{"secret-files": "token=secrets/token"}, func(in *Inputs) (any, any) { return in.Gate.Secrets != nil, true }},
		{"secrets src", map[string]string{"secrets": "id=token,src=secrets/token"}, func(in *Inputs) (any, any) { return in.Gate.Secrets != nil, true }},
		{"absolute stays", map[string]string{"context": ws + "/app"}, func(in *Inputs) (any, any) { return in.Gate.ContextDir, filepath.Join(ws, "app") }},
		{"reports left out of the workspace's context", nil, func(in *Inputs) (any, any) { return in.Gate.ContextExcludes, []string{".stagegate"} }},
		{"reports outside a folder's context", map[string]string{"context": "app"}, func(in *Inputs) (any, any) { return in.Gate.ContextExcludes, []string(nil) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := ReadInputs(newAction(tc.inputs, nil), ws)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := tc.check(in); !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
	if _, err := ReadInputs(newAction(map[string]string{"context": "app/../.."}, nil), ws); err == nil || !strings.Contains(err.Error(), `input "context"`) {
		t.Errorf("a context outside the workspace: %v", err)
	}
}

func TestBudgetsInput(t *testing.T) {
	in, err := ReadInputs(newAction(map[string]string{"budgets": "final<=50MB\n# growth\nfinal:+5%, *:layers+0\n"}, nil), "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range in.Budgets {
		got = append(got, b.Text)
	}
	if !slices.Equal(got, []string{"final<=50MB", "final:+5%", "*:layers+0"}) || !in.Compare {
		t.Errorf("budgets %q, compare %v", got, in.Compare)
	}
	_, err = ReadInputs(newAction(map[string]string{"budgets": "final<=50MB", "sizes": "false"}, nil), "")
	if err == nil || !strings.Contains(err.Error(), `input "budgets"`) || !strings.Contains(err.Error(), "budgets need the stages' sizes") {
		t.Errorf("budgets without sizes: %v", err)
	}
}
