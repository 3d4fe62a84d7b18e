package dockerfile

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// A stage named for tests whose command or RUN step runs a script of the
// build context: the test command in the script makes it a test stage.
func TestScriptsOfTheContext(t *testing.T) {
	context := fstest.MapFS{
		"docker-entrypoint.sh": {Data: []byte("#!/bin/sh\nset -e\nalembic upgrade head\ncoverage run -m pytest tests/\ncoverage xml\n")},
		"serve.sh":             {Data: []byte("#!/bin/sh\nexec gunicorn app:app\n")},
		"test/run.sh":          {Data: []byte("#!/bin/sh\nset -e\nbats --tap ./tests\n")},
		"app.py":               {Data: []byte("print('hi')\n")},
	}
	for _, tc := range []struct {
		name, dockerfile string
		context          fs.FS
		wantTests        []string
		wantReason       string
	}{
		{name: "a command running an entrypoint script copied by name",
			dockerfile: "FROM python AS base\nWORKDIR /app\nCOPY app.py .\nFROM base AS test\nCOPY docker-entrypoint.sh ./\nCMD [\"./docker-entrypoint.sh\"]\nFROM base AS prod\nCMD [\"python\", \"app.py\"]\n",
			context:    context, wantTests: []string{"test"},
			wantReason: `"coverage run -m pytest tests/" (in docker-entrypoint.sh, which its CMD on line 6 runs)`},
		{name: "a RUN step running a script of a folder copied whole",
			dockerfile: "FROM alpine AS base\nRUN apk add bats\nFROM base AS buildkit-test\nWORKDIR /work\nCOPY . .\nRUN ./test/run.sh\nFROM alpine\n",
			context:    context, wantTests: []string{"buildkit-test"},
			wantReason: `"bats --tap ./tests" (in test/run.sh, which its RUN on line 6 runs)`},
		{name: "a shell-form command running a script through sh",
			dockerfile: "FROM python AS tests\nWORKDIR /app\nCOPY . .\nCMD sh docker-entrypoint.sh --ci\nFROM python AS prod\n",
			context:    context, wantTests: []string{"tests"},
			wantReason: `(in docker-entrypoint.sh, which its CMD on line 4 runs)`},
		{name: "a script that runs no test",
			dockerfile: "FROM python AS test\nCOPY serve.sh /serve.sh\nCMD [\"sh\", \"/serve.sh\"]\nFROM python AS prod\n",
			context:    context},
		{name: "without the context, nothing is read",
			dockerfile: "FROM python AS test\nWORKDIR /app\nCOPY docker-entrypoint.sh ./\nCMD [\"./docker-entrypoint.sh\"]\nFROM python AS prod\n"},
		{name: "a stage whose name does not say it tests",
			dockerfile: "FROM python AS migrate\nWORKDIR /app\nCOPY docker-entrypoint.sh ./\nCMD [\"./docker-entrypoint.sh\"]\nFROM python AS prod\n",
			context:    context},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Parse("Dockerfile", []byte(tc.dockerfile), fixedPlatforms(Options{Context: tc.context}))
			if err != nil {
				t.Fatal(err)
			}
			p, err := g.Plan(PlanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := names(p.TestStages()); !slices.Equal(got, tc.wantTests) {
				t.Errorf("tests %v, want %v\nrejected: %+v", got, tc.wantTests, p.Rejected)
			}
			if tc.wantReason != "" && (len(p.Tests) == 0 || !strings.Contains(p.Tests[0].Reason, tc.wantReason)) {
				t.Errorf("reason %+v, want it to say %s", p.Tests, tc.wantReason)
			}
		})
	}
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
