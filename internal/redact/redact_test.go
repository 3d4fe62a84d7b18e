package redact

import (
	"bytes"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	r := New("s3cr3t-token", "s3cr3t", "", "ab", "multi\nline-secret")
	cases := []struct{ in, want string }{
		{"token=s3cr3t-token here", "token=*** here"},
		{"just s3cr3t", "just ***"},
		{"ab is too short to mask", "ab is too short to mask"},
		{"line-secret and multi", "*** and ***"},
		{"nothing", "nothing"},
	}
	for _, tc := range cases {
		if got := r.String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var nilR *Redactor
	if nilR.String("x") != "x" {
		t.Error("a nil Redactor must pass text through")
	}
}

func TestWriterMasksAcrossWrites(t *testing.T) {
	var out bytes.Buffer
	w := New("hunter2-password").Writer(&out)
	for _, chunk := range []string{"#5 0.1 the pass", "word is hunter2-pa", "ssword\n#5 DONE\nlast hunter2-password"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "hunter2") {
		t.Fatalf("secret leaked: %q", out.String())
	}
	if want := "#5 0.1 the password is ***\n#5 DONE\nlast ***"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
