package action

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sethvargo/go-githubactions"
	"github.com/stagegate/stagegate/internal/github"
)

// inputNames are the inputs ReadInputs reads, as the INPUT_ variables name
// them (upper case), sorted.
func inputNames() []string {
	asked := map[string]bool{}
	_, _ = ReadInputs(newAction(nil, asked), "")
	names := make([]string, 0, len(asked))
	for n := range asked {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// fuzzEnv are the other variables ReadInputs reads, fuzzed too.
var fuzzEnv = []string{"GITHUB_REF_NAME", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_CACHE_URL", "ACTIONS_RESULTS_URL", "NPM_TOKEN"}

// encodeInputs writes inputs (by lower-case name, or an fuzzEnv variable)
// the way FuzzReadInputs decodes them: NUL-separated entries whose first
// byte picks the input.
func encodeInputs(names []string, values map[string]string) []byte {
	var b bytes.Buffer
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range values {
			if !yield(k) {
				return
			}
		}
	}) {
		i := slices.Index(names, strings.ToUpper(k))
		if j := slices.Index(fuzzEnv, k); j >= 0 {
			i = len(names) + j
		}
		if i < 0 {
			panic("no input " + k)
		}
		b.WriteByte(byte(i))
		b.WriteString(values[k])
		b.WriteByte(0)
	}
	return b.Bytes()
}

// FuzzReadInputs: whatever the inputs (and the variables the gha cache and
// the secrets read), ReadInputs never panics, and every error names an input
// that was set: `input "<name>"`.
func FuzzReadInputs(f *testing.F) {
	names := inputNames()
	if len(names)+len(fuzzEnv) > 255 {
		f.Fatal("too many inputs for one selector byte")
	}
	for _, seed := range []map[string]string{
		{"test-targets": "unit\nlint, integration\n", "build-args": "VERSION=1.2\nFLAGS=-a,-b=c\n", "no-cache": "True", "platforms": "linux/amd64\nlinux/arm64"},
		{"fail-on": "warnings", "test-mode": "run", "test-timeout": "90s", "test-env": "A=1\nB=2", "test-network": "true", "test-platforms": "linux/arm/v7"},
		{"cache-from": "type=gha", "cache-to": "type=gha,mode=max", "ACTIONS_RUNTIME_TOKEN": "tok", "GITHUB_REF_NAME": "feature/x"},
		{"cache-from": "type=registry,ref=ghcr.io/o/app:cache\nghcr.io/o/app:old", "cache-to": "type=local,dest=/tmp/c"},
		{"secrets": "npm=s3cr3t\nid=tok,env=NPM_TOKEN", "NPM_TOKEN": "abc", "secret-files": "f=/nonexistent"},
		{"registry-auth": "registry=ghcr.io,username=u,password=p\"w", "push": "true", "tags": "a:1\nb:2"},
		{"ssh": "default", "provenance": "mode=max", "sbom": "true"},
		{"build-contexts": "alpine=docker-image://alpine:3\nsrc=../src", "context": "../..", "file": "/etc/passwd"},
		{"labels": "=x", "fail-fast": "sometimes", "summary": "1"},
		{"registry-auth": "registry=ghcr.io,username=u,password=a" + secretMark + ",b" + secretMark},
		{"registry-auth": `registry=ghcr.io,username=u,"password=` + secretMark + `,"` + secretMark + `"`},
		{"secrets": "npm=" + secretMark + "\nid=x,src=" + secretMark},
		{"secrets": "npm=" + secretMark + `"` + secretMark + "\n=x"},
	} {
		f.Add(encodeInputs(names, seed))
	}
	docker := f.TempDir() // an empty DOCKER_CONFIG: no credentials from the machine
	workspace, err := filepath.Abs("../..")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		inputs := map[string]string{"DOCKER_CONFIG": docker, "HOME": docker}
		for _, entry := range bytes.Split(data, []byte{0}) {
			if len(entry) == 0 {
				continue
			}
			i, v := int(entry[0])%(len(names)+len(fuzzEnv)), string(entry[1:])
			// Paths are read (secret files, SSH keys): never a device
			// that blocks or never ends.
			if strings.Contains(v, "/dev") || strings.Contains(v, "/proc") || strings.Contains(v, "/sys") {
				t.Skip("a path to a device")
			}
			if i < len(names) {
				inputs["INPUT_"+names[i]] = v
			} else {
				inputs[fuzzEnv[i-len(names)]] = v
			}
		}
		a := githubactions.New(githubactions.WithGetenv(func(k string) string { return inputs[k] }))
		_, err := ReadInputs(a, workspace)
		if err == nil {
			return
		}
		msg := err.Error()
		named := ""
		for _, n := range names {
			if strings.Contains(msg, "input "+strconv.Quote(strings.ToLower(n))) {
				named = n
				break
			}
		}
		if named == "" {
			t.Fatalf("error %q names no input", msg)
		}
		if strings.TrimSpace(inputs["INPUT_"+named]) == "" {
			t.Errorf("error %q names input %q, which is not set", msg, strings.ToLower(named))
		}
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Errorf("error %q (%T) is not an *InputError", msg, err)
		}
		if strings.Contains(msg, secretMark) && secretOnly(inputs) {
			t.Errorf("error %q shows a secret", msg)
		}
	})
}

// secretMark marks secret values in FuzzReadInputs: an error must not show
// it when it is only in secrets (the VALUE of an ID=VALUE secrets line, the
// password of a registry-auth line).
const secretMark = "Zq7S3kr1T"

// secretOnly reports whether secretMark appears in inputs only where it is
// part of a secret value.
func secretOnly(inputs map[string]string) bool {
	for k, v := range inputs {
		if !strings.Contains(v, secretMark) {
			continue
		}
		for _, line := range parseLines(v) {
			if !strings.Contains(line, secretMark) {
				continue
			}
			switch k {
			case "INPUT_SECRETS":
				// The ID of an ID=VALUE line is not secret, nor the
				// variable or file an id=ID,env=VAR / src=PATH line names.
				id, _, _ := strings.Cut(line, "=")
				if strings.Contains(id, secretMark) || strings.HasPrefix(line, "id=") &&
					(strings.Contains(line, ",env=") || strings.Contains(line, ",src=") || strings.Contains(line, ",source=")) {
					return false
				}
			case "INPUT_REGISTRY-AUTH":
				i := strings.Index(line, "password=")
				if i < 0 || strings.Contains(line[:i], secretMark) {
					return false
				}
			default:
				return false
			}
		}
	}
	return true
}

// parseCommand reads back one workflow command line the way the runner does:
// "::name key=value,key=value::message", with %25 %0D %0A (and, in
// properties, %3A %2C) unescaped.
func parseCommand(line string) (name string, props map[string]string, msg string, ok bool) {
	rest, ok := strings.CutPrefix(line, "::")
	if !ok {
		return "", nil, "", false
	}
	head, data, ok := strings.Cut(rest, "::")
	if !ok {
		return "", nil, "", false
	}
	name, propText, _ := strings.Cut(head, " ")
	props = map[string]string{}
	if propText != "" {
		for _, kv := range strings.Split(propText, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return "", nil, "", false
			}
			props[k] = unescape(v, true)
		}
	}
	return name, props, unescape(data, false), true
}

// unescape replaces the escapes one after another, %25 last, as the runner
// (ActionCommand.Unescape) does.
func unescape(s string, property bool) string {
	pairs := [][2]string{{"%0D", "\r"}, {"%0A", "\n"}}
	if property {
		pairs = append(pairs, [2]string{"%3A", ":"}, [2]string{"%2C", ","})
	}
	for _, p := range append(pairs, [2]string{"%25", "%"}) {
		s = strings.ReplaceAll(s, p[0], p[1])
	}
	return s
}

// FuzzWorkflowCommand: an annotation whose path, title and message hold any
// bytes (newlines, "::", "%0A", commas, colons, invalid UTF-8) is printed as
// exactly one workflow command, which reads back to what was sent: a build's
// output can never inject a command of its own (::add-mask::, ::stop-commands::).
func FuzzWorkflowCommand(f *testing.F) {
	f.Add("Dockerfile", "stage test failed (exit code 1)", "exit code: 1", 12, 13)
	f.Add("a,b:c.Dockerfile", "title::with::colons", "line one\n::error::injected\r\n::add-mask::x", 1, 1)
	f.Add("%0A%25", "%3A%2C%0D", "100%\r::stop-commands::tok\n", 0, -1)
	f.Add("\x00\xff\xfe", "\u2028\u2029\u0085", "\x1b]0;t\x07\n\n\n", 5, 3)
	f.Fuzz(func(t *testing.T, path, title, message string, line, end int) {
		for _, level := range []string{levelFailure, levelWarning, levelNotice} {
			var out bytes.Buffer
			r := &reporter{a: githubactions.New(githubactions.WithWriter(&out))}
			r.workflowAnnotations([]github.Annotation{{
				Path: path, StartLine: line, EndLine: end, Level: level, Title: title, Message: message,
			}})
			text := out.String()
			// The runner reads lines split at \n, \r or \r\n.
			lines := strings.FieldsFunc(strings.TrimSuffix(text, "\n"), func(r rune) bool { return r == '\n' || r == '\r' })
			if len(lines) != 1 || !strings.HasSuffix(text, "\n") || strings.Count(text, "\n") != 1 {
				t.Fatalf("%s: %d lines, want one command:\n%q", level, len(lines), text)
			}
			name, props, msg, ok := parseCommand(lines[0])
			if !ok {
				t.Fatalf("%s: %q is not a workflow command", level, lines[0])
			}
			wantName := map[string]string{levelFailure: "error", levelWarning: "warning", levelNotice: "notice"}[level]
			if name != wantName {
				t.Errorf("command %q, want %q", name, wantName)
			}
			if msg != message {
				t.Errorf("message reads back as %q, want %q", msg, message)
			}
			want := map[string]string{"file": path, "title": title, "line": strconv.Itoa(line), "endLine": strconv.Itoa(end)}
			if len(props) != len(want) {
				t.Errorf("properties %q, want %q", props, want)
			}
			for k, v := range want {
				if props[k] != v {
					t.Errorf("property %s reads back as %q, want %q", k, props[k], v)
				}
			}
		}
	})
}

func TestInputNames(t *testing.T) {
	names := inputNames()
	if len(names) < 30 || !slices.Contains(names, "SECRETS") || !slices.Contains(names, "REGISTRY-AUTH") {
		t.Errorf("inputs %q", names)
	}
}
