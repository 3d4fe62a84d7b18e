package gate_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stagegate/stagegate/internal/gate"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/testenv"
)

// cmdStyle is a Dockerfile whose test stage's tests are its CMD: building it
// runs no test.
func cmdStyle(t *testing.T, exitCode string) string {
	return testenv.Context(t, map[string]string{
		"run-tests.sh": "#!/bin/sh\necho \"running the suite (" + testenv.Token(t) + ")\"\necho \"ok 1 - adds\"\n" +
			"if [ " + exitCode + " -ne 0 ]; then echo \"not ok 2 - subtracts: want 1, got 2\"; fi\nexit " + exitCode + "\n",
		"Dockerfile": `FROM busybox AS build
COPY run-tests.sh /app/run-tests.sh

FROM build AS test
WORKDIR /app
ENV SUITE=unit
CMD ["./run-tests.sh"]

FROM busybox AS final
COPY --from=build /app /app
`,
	})
}

func TestCMDStyleTestStage(t *testing.T) {
	cases := []struct {
		name      string
		exitCode  string
		mode      gate.TestMode
		result    result.Verdict
		testState result.Status
		testMode  result.TestMode
		final     result.Status
	}{
		{"failing tests run by auto", "3", gate.TestModeAuto, result.Failed, result.StatusFailed, result.TestModeRun, result.StatusSkipped},
		{"passing tests run by auto", "0", gate.TestModeAuto, result.Passed, result.StatusPassed, result.TestModeRun, result.StatusPassed},
		{"failing tests not run in build mode", "3", gate.TestModeBuild, result.Passed, result.StatusPassed, result.TestModeBuild, result.StatusPassed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, &gate.Config{TestTargets: []string{"test"}, ContextDir: cmdStyle(t, tc.exitCode), TestMode: tc.mode})
			if res.Result != tc.result {
				t.Fatalf("result %s, want %s (%s)", res.Result, tc.result, res.Error)
			}
			test := stage(t, res, "test")
			if test.Status != tc.testState || test.Tests == nil || test.Tests.Mode != tc.testMode {
				t.Fatalf("test stage %s with tests %+v, want %s in mode %s", test.Status, test.Tests, tc.testState, tc.testMode)
			}
			if got := stage(t, res, "final").Status; got != tc.final && !(tc.final == result.StatusPassed && got == result.StatusCached) {
				t.Errorf("final stage %s, want %s", got, tc.final)
			}
			switch tc.testMode {
			case result.TestModeRun:
				if !slices.Equal(test.Tests.Command, []string{"./run-tests.sh"}) {
					t.Errorf("command %q", test.Tests.Command)
				}
			case result.TestModeBuild:
				if test.Tests.NotRun == "" || !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "no test ran") }) {
					t.Errorf("build mode must say the tests were not run: %+v, warnings %q", test.Tests, res.Warnings)
				}
			}
			if tc.result == result.Failed {
				f := res.Failure
				if f == nil || f.Stage != "test" || f.Line != 7 || f.ExitCode == nil || *f.ExitCode != 3 {
					t.Fatalf("failure %+v, want stage test at the CMD line 7 with exit code 3", f)
				}
				if !slices.Contains(f.LogTail, "not ok 2 - subtracts: want 1, got 2") {
					t.Errorf("log tail %q lacks the failing test", f.LogTail)
				}
			}
		})
	}
}

// TestInheritedTestCommand: a stage named for tests that sets no command of
// its own runs the test command of the stage it is built on, found without
// test targets; its failure points at that command's line.
func TestInheritedTestCommand(t *testing.T) {
	ctx := testenv.Context(t, map[string]string{
		"run-tests.sh": "#!/bin/sh\necho \"suite $SUITE (" + testenv.Token(t) + ")\"\n" +
			"if [ \"$SUITE\" = ipv6 ]; then echo \"not ok 1 - dials [::1]\"; exit 4; fi\necho \"ok 1 - dials\"\n",
		"Dockerfile": `FROM busybox AS build
COPY run-tests.sh /app/run-tests.sh

FROM build AS test-integration
WORKDIR /app
CMD ["./run-tests.sh"]

FROM test-integration AS test-integration-ipv6
ENV SUITE=ipv6

FROM busybox AS final
COPY --from=build /app /app
`,
	})
	res := run(t, &gate.Config{ContextDir: ctx})
	if res.Result != result.Failed {
		t.Fatalf("result %s, want failed (%s)", res.Result, res.Error)
	}
	for name, want := range map[string]result.Status{"test-integration": result.StatusPassed, "test-integration-ipv6": result.StatusFailed} {
		st := stage(t, res, name)
		if st.Status != want || st.Tests == nil || st.Tests.Mode != result.TestModeRun || !slices.Equal(st.Tests.Command, []string{"./run-tests.sh"}) {
			t.Errorf("stage %s: %s with tests %+v, want %s, its command run", name, st.Status, st.Tests, want)
		}
	}
	f := res.Failure
	if f == nil || f.Stage != "test-integration-ipv6" || f.Line != 6 || f.ExitCode == nil || *f.ExitCode != 4 {
		t.Fatalf("failure %+v, want stage test-integration-ipv6 at the inherited CMD, line 6, exit code 4", f)
	}
}

// TestEntrypointScriptFound: a stage named for tests runs an entrypoint
// script of the context, which runs the tests. Discovery reads the script,
// and the run fails at the command with the tests' exit code.
func TestEntrypointScriptFound(t *testing.T) {
	ctx := testenv.Context(t, map[string]string{
		"docker-entrypoint.sh": "#!/bin/sh\nset -e\necho \"migrating (" + testenv.Token(t) + ")\"\n./run-tests.sh --verbose\n",
		"run-tests.sh":         "#!/bin/sh\necho \"not ok 1 - adds\"\nexit 3\n",
		"Dockerfile": `FROM busybox AS test
WORKDIR /app
COPY docker-entrypoint.sh run-tests.sh ./
CMD ["./docker-entrypoint.sh"]

FROM busybox AS final
`,
	})
	res := run(t, &gate.Config{ContextDir: ctx})
	test := stage(t, res, "test")
	if res.Result != result.Failed || test.Status != result.StatusFailed || test.Tests == nil || test.Tests.Mode != result.TestModeRun {
		t.Fatalf("result %s, test stage %s with tests %+v: want the script's tests run and failed", res.Result, test.Status, test.Tests)
	}
	if len(res.TestTargets) != 1 || !strings.Contains(res.TestTargets[0].Reason, "in docker-entrypoint.sh") {
		t.Errorf("test targets %+v: want test, for the test command in docker-entrypoint.sh", res.TestTargets)
	}
	if f := res.Failure; f == nil || f.Line != 4 || f.ExitCode == nil || *f.ExitCode != 3 {
		t.Errorf("failure %+v, want the CMD line 4 with exit code 3", f)
	}
}

func TestRunStyleTestStageIsNotRunTwice(t *testing.T) {
	// busybox's inherited CMD ["sh"] is not a test: auto must not run it.
	ctx := testenv.Context(t, map[string]string{"Dockerfile": `FROM busybox AS test
RUN echo "` + testenv.Token(t) + `" && echo "tests pass"

FROM busybox AS final
RUN true
`})
	res := run(t, &gate.Config{TestTargets: []string{"test"}, ContextDir: ctx, TestMode: gate.TestModeAuto})
	test := stage(t, res, "test")
	if res.Result != result.Passed || test.Tests == nil || test.Tests.Mode != result.TestModeBuild || test.Tests.NotRun != "" {
		t.Fatalf("result %s, test stage tests %+v: want passed in build mode with its RUN counted as the tests", res.Result, test.Tests)
	}
}

func TestTestStagesRunConcurrently(t *testing.T) {
	token := testenv.Token(t)
	ctx := testenv.Context(t, map[string]string{"Dockerfile": `FROM busybox AS app
RUN echo app > /app

FROM app AS unit
RUN echo "` + token + ` unit" && sleep 2

FROM app AS lint
RUN echo "` + token + ` lint" && sleep 2

FROM app AS integration
RUN echo "` + token + ` integration" && sleep 2

FROM app AS final
CMD ["cat", "/app"]
`})
	res := run(t, &gate.Config{ContextDir: ctx, TestTargets: []string{"unit", "lint", "integration"}})
	if res.Result != result.Passed {
		t.Fatalf("result %s: %s", res.Result, res.Error)
	}
	names := []string{"unit", "lint", "integration"}
	for _, a := range names {
		for _, b := range names {
			if a >= b {
				continue
			}
			sa, sb := stage(t, res, a), stage(t, res, b)
			if sa.StartedAt == nil || sb.StartedAt == nil {
				t.Fatalf("%s or %s has no interval", a, b)
			}
			if !sa.StartedAt.Before(*sb.CompletedAt) || !sb.StartedAt.Before(*sa.CompletedAt) {
				t.Errorf("%s [%s, %s] and %s [%s, %s] do not overlap", a, sa.StartedAt, sa.CompletedAt, b, sb.StartedAt, sb.CompletedAt)
			}
		}
	}
	final := stage(t, res, "final")
	for _, n := range names {
		if final.StartedAt != nil && final.StartedAt.Before(*stage(t, res, n).CompletedAt) {
			t.Errorf("final started before test stage %s completed", n)
		}
	}
}

func TestBuildChecksAreReported(t *testing.T) {
	ctx := testenv.Context(t, map[string]string{"Dockerfile": `FROM busybox as build
RUN echo "` + testenv.Token(t) + `"

FROM build AS test
ENV MODE strict
RUN true

FROM build AS final
`})
	res := run(t, &gate.Config{TestTargets: []string{"test"}, ContextDir: ctx})
	got := map[string]int{}
	for _, c := range res.BuildChecks {
		got[c.Rule] = c.Line
		if c.URL == "" || c.Description == "" {
			t.Errorf("check %s lacks its URL or description: %+v", c.Rule, c)
		}
	}
	want := map[string]int{"FromAsCasing": 1, "LegacyKeyValueFormat": 5}
	for rule, line := range want {
		if got[rule] != line {
			t.Errorf("rule %s at line %d, want line %d (all: %+v)", rule, got[rule], line, res.BuildChecks)
		}
	}
	if len(res.BuildChecks) != len(want) {
		t.Errorf("%d checks reported, want %d (each once): %+v", len(res.BuildChecks), len(want), res.BuildChecks)
	}

	// The same rules and lines as the frontend's own lint subrequest.
	cfg := &gate.Config{TestTargets: []string{"test"}, ContextDir: ctx}
	cfg.Connect.Host = testenv.BuildKitHost(t)
	plan, err := gate.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lint, err := gate.Check(context.Background(), cfg, plan)
	if err != nil {
		t.Fatal(err)
	}
	fromLint := map[string]int{}
	for _, c := range lint {
		fromLint[c.Rule] = c.Line
	}
	if !maps.Equal(fromLint, got) {
		t.Errorf("lint subrequest found %v, the build reported %v", fromLint, got)
	}
}
