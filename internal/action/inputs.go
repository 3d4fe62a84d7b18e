// Package action runs stagegate as a GitHub Action: it reads the inputs,
// runs the gate, and reports to GitHub as check runs (or, without the Checks
// API, workflow-command annotations), a job summary and step outputs.
package action

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sethvargo/go-githubactions"
	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/gate"
)

// FailOn says what fails the step.
type FailOn string

const (
	FailOnFailure  FailOn = "failure"  // a failed stage (the default)
	FailOnWarnings FailOn = "warnings" // a failed stage or any build warning
	FailOnNever    FailOn = "never"    // report only; the step always passes
)

// Inputs are the action's inputs, parsed.
type Inputs struct {
	Gate        gate.Config
	Token       string
	CheckName   string
	Annotations bool
	Summary     bool
	FailOn      FailOn
}

// InputError is an input with a value that cannot be used.
type InputError struct {
	Input, Value, Expected string
}

func (e *InputError) Error() string {
	return fmt.Sprintf("input %q: %q is not valid: expected %s", e.Input, e.Value, e.Expected)
}

// ReadInputs parses the inputs the way users write them in YAML: lists one
// per line or comma-separated, KEY=VALUE one per line, booleans true/false.
// workspace, when set, is where the context must stay.
func ReadInputs(a *githubactions.Action, workspace string) (*Inputs, error) {
	in := &Inputs{
		Token:     a.GetInput("github-token"),
		CheckName: a.GetInput("check-name"),
		FailOn:    FailOn(strings.ToLower(a.GetInput("fail-on"))),
	}
	if in.CheckName == "" {
		in.CheckName = "stagegate"
	}
	switch in.FailOn {
	case "":
		in.FailOn = FailOnFailure
	case FailOnFailure, FailOnWarnings, FailOnNever:
	default:
		return nil, &InputError{"fail-on", a.GetInput("fail-on"), "failure, warnings or never"}
	}
	var err error
	bools := []struct {
		name string
		dst  *bool
		def  bool
	}{
		{"no-cache", &in.Gate.NoCache, false},
		{"annotations", &in.Annotations, true},
		{"summary", &in.Summary, true},
	}
	for _, b := range bools {
		if *b.dst, err = parseBool(b.name, a.GetInput(b.name), b.def); err != nil {
			return nil, err
		}
	}
	g := &in.Gate
	g.ContextDir = a.GetInput("context")
	if g.ContextDir == "" {
		g.ContextDir = "."
	}
	if workspace != "" {
		if err := insideWorkspace("context", g.ContextDir, workspace); err != nil {
			return nil, err
		}
	}
	if f := a.GetInput("file"); f != "" {
		g.File = f
		if workspace != "" {
			if err := insideWorkspace("file", f, workspace); err != nil {
				return nil, err
			}
		}
	}
	g.Target = a.GetInput("target")
	g.TestTargets = parseList(a.GetInput("test-targets"))
	g.Platforms = parseList(a.GetInput("platforms"))
	for _, p := range g.Platforms {
		if err := checkPlatform(p); err != nil {
			return nil, &InputError{"platforms", p, "platforms like linux/amd64 or linux/arm64/v8, one per line or comma-separated"}
		}
	}
	if g.BuildArgs, err = parseKeyValues("build-args", a.GetInput("build-args")); err != nil {
		return nil, err
	}
	if g.Labels, err = parseKeyValues("labels", a.GetInput("labels")); err != nil {
		return nil, err
	}
	g.Connect = build.ConnectOptions{Host: a.GetInput("buildkit-host")}
	return in, nil
}

func parseBool(name, v string, def bool) (bool, error) {
	switch v {
	case "":
		return def, nil
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	}
	return false, &InputError{name, v, "true or false"}
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

// parseKeyValues reads KEY=VALUE lines; values may hold commas and "=".
func parseKeyValues(name, v string) (map[string]string, error) {
	out := map[string]string{}
	for _, line := range strings.Split(v, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, val, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, &InputError{name, line, "KEY=VALUE lines, one per line"}
		}
		out[strings.TrimSpace(k)] = val
	}
	return out, nil
}

func insideWorkspace(name, p, workspace string) error {
	abs, err := filepath.Abs(p)
	if err != nil {
		return &InputError{name, p, "a path inside the workspace"}
	}
	rel, err := filepath.Rel(workspace, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return &InputError{name, p, "a path inside the workspace " + workspace}
	}
	return nil
}
