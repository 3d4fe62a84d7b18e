// Package action runs stagegate as a GitHub Action: it reads the inputs,
// runs the gate, and reports to GitHub as check runs (or, without the Checks
// API, workflow-command annotations), a job summary and step outputs.
package action

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"
	"github.com/stagegate/stagegate/internal/budget"
	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/gate"
	"github.com/stagegate/stagegate/internal/options"
	"github.com/stagegate/stagegate/internal/sizes"
)

// Inputs are the action's inputs, parsed.
type Inputs struct {
	Gate        gate.Config
	Token       string
	CheckName   string
	Annotations bool
	Summary     bool
	FailOn      options.FailOn
	// Compare: look up the base's figures to compare with; Budgets gate
	// the image on them.
	Compare bool
	Budgets []budget.Budget
}

// asInputError names the input an option error came from: options name
// options by the CLI's flags.
func asInputError(err error) error {
	var oe *build.OptionError
	if errors.As(err, &oe) {
		return &InputError{Input: cmp.Or(options.Input(oe.Option), oe.Option), Value: oe.Value, Expected: oe.Expected, Err: oe.Err}
	}
	return err
}

// InputError is an input with a value that cannot be used.
type InputError struct {
	Input, Value, Expected string
	Err                    error
}

func (e *InputError) Error() string {
	msg := fmt.Sprintf("input %q: %q is not valid: expected %s", e.Input, e.Value, e.Expected)
	if e.Err != nil {
		msg += " (" + e.Err.Error() + ")"
	}
	return msg
}

func (e *InputError) Unwrap() error { return e.Err }

// ReadInputs parses the inputs the way users write them in YAML: lists one
// per line or comma-separated, KEY=VALUE one per line, booleans true/false.
// workspace, when set, is where the context must stay.
func ReadInputs(a *githubactions.Action, workspace string) (*Inputs, error) {
	in, err := readInputs(a, workspace)
	return in, asInputError(err)
}

func readInputs(a *githubactions.Action, workspace string) (*Inputs, error) {
	in := &Inputs{
		Token:     a.GetInput("github-token"),
		CheckName: a.GetInput("check-name"),
	}
	if in.CheckName == "" {
		in.CheckName = "stagegate"
	}
	var err error
	if in.FailOn, err = options.ParseFailOn(a.GetInput("fail-on")); err != nil {
		return nil, err
	}
	var measureSizes bool
	bools := []struct {
		name string
		dst  *bool
		def  bool
	}{
		{"no-cache", &in.Gate.NoCache, false},
		{"annotations", &in.Annotations, true},
		{"summary", &in.Summary, true},
		{"sizes", &measureSizes, true},
		{"require-tests", &in.Gate.RequireTests, true},
		{"compare", &in.Compare, true},
	}
	for _, b := range bools {
		if *b.dst, err = parseBool(b.name, a.GetInput(b.name), b.def); err != nil {
			return nil, err
		}
	}
	in.Gate.SkipSizes = !measureSizes
	if in.Budgets, err = options.ParseBudgets([]string{a.GetInput("budgets")}, in.Gate.SkipSizes); err != nil {
		return nil, err
	}
	g := &in.Gate
	// Paths in inputs are relative to the workspace, as the workflow's
	// author reads them, whatever the working directory.
	g.ContextDir = build.InDir(workspace, a.GetInput("context"))
	if g.ContextDir == "" {
		g.ContextDir = build.InDir(workspace, ".")
	}
	if workspace != "" {
		if err := insideWorkspace("context", a.GetInput("context"), g.ContextDir, workspace); err != nil {
			return nil, err
		}
		if st, err := os.Stat(g.ContextDir); err != nil || !st.IsDir() {
			return nil, &InputError{"context", a.GetInput("context"), "a directory in the workspace", err}
		}
		// The reports of earlier stagegate steps are no part of the
		// context: they would change what COPY . copies on every run.
		if rel, err := filepath.Rel(g.ContextDir, filepath.Join(workspace, reportDir)); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			g.ContextExcludes = []string{filepath.ToSlash(rel)}
		}
	}
	if f := a.GetInput("file"); f != "" {
		g.File = build.InDir(workspace, f)
		if workspace != "" {
			if err := insideWorkspace("file", f, g.File, workspace); err != nil {
				return nil, err
			}
		}
	}
	g.Target = a.GetInput("target")
	g.TestTargets = parseList(a.GetInput("test-targets"))
	if g.Platforms, err = options.ParsePlatforms("platform", parseList(a.GetInput("platforms"))); err != nil {
		return nil, err
	}
	lookupEnv := func(k string) (string, bool) { v := a.Getenv(k); return v, v != "" }
	if g.BuildArgs, err = options.ParseKeyValues("build-arg", parseLines(a.GetInput("build-args")), lookupEnv); err != nil {
		return nil, err
	}
	if g.Labels, err = options.ParseKeyValues("label", parseLines(a.GetInput("labels")), lookupEnv); err != nil {
		return nil, err
	}
	g.LayerCachePath = sizes.DefaultLayerCachePath()
	g.Connect = build.ConnectOptions{Host: a.GetInput("buildkit-host"), Builder: a.GetInput("builder"), OptionName: optionName,
		TLS: build.TLS{CA: build.InDir(workspace, a.GetInput("tls-ca")), Cert: build.InDir(workspace, a.GetInput("tls-cert")),
			Key: build.InDir(workspace, a.GetInput("tls-key")), ServerName: a.GetInput("tls-server-name")}}
	g.OptionName = optionName
	if err := readTestInputs(a, g); err != nil {
		return nil, err
	}
	if err := readOutputInputs(a, g, workspace); err != nil {
		return nil, err
	}
	return in, nil
}

// readTestInputs reads how test stages run.
func readTestInputs(a *githubactions.Action, g *gate.Config) error {
	var err error
	if g.TestMode, err = options.ParseTestMode(a.GetInput("test-mode")); err != nil {
		return err
	}
	if g.Timeout, err = options.ParseDuration("timeout", a.GetInput("timeout")); err != nil {
		return err
	}
	if g.TestTimeout, err = options.ParseDuration("test-timeout", a.GetInput("test-timeout")); err != nil {
		return err
	}
	env, err := options.ParseKeyValues("test-env", parseLines(a.GetInput("test-env")), func(k string) (string, bool) { v := a.Getenv(k); return v, v != "" })
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		g.TestEnv = append(g.TestEnv, k+"="+env[k])
	}
	if g.TestNetwork, err = parseBool("test-network", a.GetInput("test-network"), false); err != nil {
		return err
	}
	g.TestReports = parseList(a.GetInput("test-reports"))
	failFast, err := parseBool("fail-fast", a.GetInput("fail-fast"), true)
	if err != nil {
		return err
	}
	g.NoFailFast = !failFast
	g.TestPlatforms, err = options.ParsePlatforms("test-platform", parseList(a.GetInput("test-platforms")))
	return err
}

// readOutputInputs reads where the image goes and what the build may use:
// tags, push, caches, secrets, SSH, named contexts, attestations. Relative
// paths are relative to the workspace.
func readOutputInputs(a *githubactions.Action, g *gate.Config, workspace string) error {
	var err error
	g.Tags = parseLines(a.GetInput("tags"))
	if g.Push, err = parseBool("push", a.GetInput("push"), false); err != nil {
		return err
	}
	if g.Load, err = parseBool("load", a.GetInput("load"), false); err != nil {
		return err
	}
	if g.SBOM, err = parseBool("sbom", a.GetInput("sbom"), false); err != nil {
		return err
	}
	if g.Provenance, err = options.ParseProvenance(a.GetInput("provenance")); err != nil {
		return err
	}
	scope := build.GHAScope(a.Getenv("GITHUB_REF_NAME"), g.DockerfilePath())
	cacheEnv := build.CacheEnv{Getenv: a.Getenv, Scope: scope, Dir: workspace}
	if g.CacheFrom, err = build.ParseCache("cache-from", parseLines(a.GetInput("cache-from")), cacheEnv); err != nil {
		return err
	}
	if g.CacheTo, err = build.ParseCache("cache-to", parseLines(a.GetInput("cache-to")), cacheEnv); err != nil {
		return err
	}
	secretLines, fileLines := parseLines(a.GetInput("secrets")), parseLines(a.GetInput("secret-files"))
	if len(secretLines)+len(fileLines) > 0 {
		if g.Secrets, err = build.ParseSecrets(secretLines, fileLines, a.Getenv, workspace); err != nil {
			return err
		}
	}
	if ssh := parseList(a.GetInput("ssh")); len(ssh) > 0 {
		if g.SSH, err = build.ParseSSH(ssh, workspace); err != nil {
			return err
		}
	}
	if g.BuildContexts, err = options.ParseKeyValues("build-context", parseLines(a.GetInput("build-contexts")), func(string) (string, bool) { return "", false }); err != nil {
		return err
	}
	for name, v := range g.BuildContexts {
		if gate.IsLocalContext(v) {
			g.BuildContexts[name] = build.InDir(workspace, v)
		}
	}
	dockerConfig := build.InDir(workspace, a.Getenv("DOCKER_CONFIG"))
	if dockerConfig == "" && a.Getenv("HOME") != "" {
		dockerConfig = filepath.Join(a.Getenv("HOME"), ".docker")
	}
	if g.RegistryAuth, err = build.LoadRegistryAuth(dockerConfig, parseLines(a.GetInput("registry-auth"))); err != nil {
		// The detail of a malformed line quotes a field of it, which may be
		// part of a password holding a comma: keep only a position.
		var oe *build.OptionError
		var pe *csv.ParseError
		if errors.As(err, &oe) && !errors.As(oe.Err, &pe) {
			oe.Err = nil
		}
		return err
	}
	return nil
}

// parseLines splits a multi-line input into its non-empty lines (values
// that may themselves hold commas: tags, cache entries, secrets).
func parseLines(v string) []string {
	var out []string
	for _, line := range strings.Split(v, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// parseBool reads a boolean input as the CLI reads a boolean flag
// (strconv.ParseBool); empty is def. name is the option's flag.
func parseBool(name, v string, def bool) (bool, error) {
	if v = strings.TrimSpace(v); v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &build.OptionError{Option: name, Value: v, Expected: "true or false"}
	}
	return b, nil
}

// parseList splits a list written one item per line, comma-separated, or both.
func parseList(v string) []string {
	var out []string
	for _, line := range strings.Split(v, "\n") {
		for _, item := range strings.Split(line, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

// insideWorkspace checks that the input name, written value and resolved to
// path, stays inside the workspace.
func insideWorkspace(name, value, path, workspace string) error {
	rel, err := filepath.Rel(workspace, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return &InputError{name, value, "a path inside the workspace " + workspace, nil}
	}
	return nil
}

// optionName is how the action's user sets an option named by the CLI's
// flag, for error messages: its input (options.Names), or "" when it has
// none.
func optionName(flag string) string {
	if in := options.Input(flag); in != "" {
		return fmt.Sprintf("input %q", in)
	}
	return ""
}
