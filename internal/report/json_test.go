package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stagegate/stagegate/internal/result"
)

func renderJSON(t *testing.T, r *result.Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestJSON(t *testing.T) {
	noTail := sample()
	noTail.Failure.LogTail = nil
	html := sample()
	html.Failure.Message = "expected <nil> && got <err>"

	for _, tc := range []struct {
		name     string
		r        *result.Result
		want     []string
		dontWant []string
	}{
		{
			name: "empty result has arrays, not null",
			r:    &result.Result{},
			want: []string{`"stages": []`, `"test_targets": []`},
		},
		{
			name: "indented, with snake_case fields",
			r:    sample(),
			want: []string{"\n  \"result\": \"failed\",\n", `"base_delta_bytes": 350000000`, `"size_bytes": null`, `"exit_code": 1`},
		},
		{
			name: "failure without log lines has an empty log_tail",
			r:    noTail,
			want: []string{`"log_tail": []`},
		},
		{
			name:     "no HTML escaping",
			r:        html,
			want:     []string{`expected <nil> && got <err>`},
			dontWant: []string{`\u003c`, `\u0026`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := renderJSON(t, tc.r)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("JSON lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tc.dontWant {
				if strings.Contains(got, w) {
					t.Errorf("JSON has %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	want := sample()
	var got result.Result
	if err := json.Unmarshal([]byte(renderJSON(t, want)), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("round trip changed the result:\ngot  %+v\nwant %+v", got, *want)
	}
}

// Filling in empty arrays must not change the caller's Result.
func TestJSONLeavesInputAlone(t *testing.T) {
	r := &result.Result{Failure: &result.Failure{}}
	renderJSON(t, r)
	if r.Stages != nil || r.TestTargets != nil || r.Failure.LogTail != nil {
		t.Errorf("JSON changed its input: %+v", r)
	}
}

func TestWriteJSONFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := sample()
	if err := WriteJSONFile(path, r); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != renderJSON(t, r) {
		t.Errorf("file holds\n%s", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}

	if err := WriteJSONFile(filepath.Join(dir, "missing", "report.json"), r); err == nil {
		t.Error("writing into a missing directory did not fail")
	}
	if err := WriteJSONFile(filepath.Join(dir, "nil.json"), nil); err == nil {
		t.Error("writing a nil result did not fail")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("failed writes left files: %v", entries)
	}
}
