package dockerfile

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// scriptContext is a build context with the scripts that TestDiscover's
// stages run.
var scriptContext = fstest.MapFS{
	"docker-entrypoint.sh": {Data: []byte("#!/bin/sh\nset -e\nalembic upgrade head\ncoverage run -m pytest tests/\ncoverage xml\n")},
	"serve.sh":             {Data: []byte("#!/bin/sh\nexec gunicorn app:app\n")},
	"test/run.sh":          {Data: []byte("#!/bin/sh\nset -e\nbats --tap ./tests\n")},
	"app.py":               {Data: []byte("print('hi')\n")},
}

// A script whose tests' failure it does not pass on says so; its #! line's
// options count.
func TestScriptStatusLost(t *testing.T) {
	context := fstest.MapFS{
		"ci.sh":   {Data: []byte("#!/bin/bash\npytest -q\ncoverage xml\n")},
		"ci-e.sh": {Data: []byte("#!/bin/bash -e\npytest -q\ncoverage xml\n")},
	}
	for script, want := range map[string]string{"ci.sh": `"coverage xml" runs after it`, "ci-e.sh": ""} {
		g, err := Parse("Dockerfile", []byte("FROM python AS test\nCOPY "+script+" /ci\nCMD [\"/ci\"]\n"), fixedPlatforms(Options{Context: context}))
		if err != nil {
			t.Fatal(err)
		}
		st, _ := g.Stage("test")
		if st.CmdTest == nil || st.CmdTest.Script != script || !strings.Contains(st.CmdTest.StatusLost, want) || (want == "") != (st.CmdTest.StatusLost == "") {
			t.Errorf("%s: command test %+v, want its status lost because %q", script, st.CmdTest, want)
		}
	}
}

func TestContextPath(t *testing.T) {
	ctx := fstest.MapFS{"a.sh": {Data: []byte("x")}, "ci/b.sh": {Data: []byte("x")}, "ci/deep/c.sh": {Data: []byte("x")},
		"link.sh": {Data: []byte("a.sh"), Mode: fs.ModeSymlink}}
	for _, tc := range []struct {
		copies []contextCopy
		path   string
		want   string
	}{
		{[]contextCopy{{sources: []string{"a.sh"}, dest: "/usr/local/bin/run"}}, "/usr/local/bin/run", "a.sh"},
		{[]contextCopy{{sources: []string{"a.sh"}, dest: "./", workdir: "/app"}}, "/app/a.sh", "a.sh"},
		{[]contextCopy{{sources: []string{"."}, dest: ".", workdir: "/src"}}, "/src/ci/deep/c.sh", "ci/deep/c.sh"},
		{[]contextCopy{{sources: []string{"ci/"}, dest: "/scripts/"}}, "/scripts/b.sh", "ci/b.sh"},
		{[]contextCopy{{sources: []string{"a.sh", "ci/b.sh"}, dest: "/bin"}}, "/bin/b.sh", "ci/b.sh"},
		{[]contextCopy{{sources: []string{"a.sh"}, dest: "/x.sh"}, {sources: []string{"ci/b.sh"}, dest: "/x.sh"}}, "/x.sh", "ci/b.sh"}, // the last copy wins
		{[]contextCopy{{sources: []string{"missing.sh"}, dest: "/m.sh"}}, "/m.sh", ""},
		{[]contextCopy{{sources: []string{"a.sh"}, dest: "/app/"}}, "/other/a.sh", ""},
		{[]contextCopy{{sources: []string{"link.sh"}, dest: "/l.sh"}}, "/l.sh", ""}, // a link may lead out of the context
	} {
		if got := contextPath(ctx, tc.copies, tc.path); got != tc.want {
			t.Errorf("contextPath(%+v, %s) = %q, want %q", tc.copies, tc.path, got, tc.want)
		}
	}
}
