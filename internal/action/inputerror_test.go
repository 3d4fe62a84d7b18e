package action

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagegate/stagegate/internal/gate"
)

// A plan that the inputs make impossible names the input at fault, from the
// option the error carries, whatever its message says.
func TestInputErrorNamesThePlanInput(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox AS build\nRUN true\nFROM build AS test\nRUN true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		cfg    gate.Config
		option string
		prefix string
	}{
		{"no such target", gate.Config{Target: "release"}, "target", `input "target": target "release"`},
		{"a test pattern matches nothing", gate.Config{TestTargets: []string{"e2e"}}, "test-target", `input "test-targets": test target "e2e"`},
		{"a test pattern is no glob", gate.Config{TestTargets: []string{"test-["}}, "test-target", `input "test-targets": test target "test-["`},
		{"no Dockerfile", gate.Config{File: filepath.Join(dir, "nope")}, "file", `input "file": read Dockerfile`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.ContextDir = dir
			_, err := gate.Prepare(&tc.cfg)
			var usage *gate.UsageError
			if !errors.As(err, &usage) || usage.Option != tc.option {
				t.Fatalf("Prepare: %v (%#v), want a usage error in option %q", err, usage, tc.option)
			}
			if got := inputError(err).Error(); !strings.HasPrefix(got, tc.prefix) {
				t.Errorf("%q, want it to start with %q", got, tc.prefix)
			}
		})
	}
	// An error without an option is left as it is, even one whose message
	// starts like an option's.
	plain := &gate.UsageError{Err: errors.New("target platform unknown")}
	if got := inputError(plain); got != error(plain) {
		t.Errorf("an error with no option became %q", got)
	}
}

// Every option the CLI names by its flag is named by its input, the TLS
// options too (options.Names is the one table of both).
func TestOptionNameIsTheInput(t *testing.T) {
	for flag, want := range map[string]string{
		"platform": `input "platforms"`, "tls-ca": `input "tls-ca"`, "tls-server-name": `input "tls-server-name"`,
		"test-target": `input "test-targets"`, "no-such-flag": "",
	} {
		if got := optionName(flag); got != want {
			t.Errorf("optionName(%q) = %q, want %q", flag, got, want)
		}
	}
}
