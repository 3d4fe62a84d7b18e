package assemble

import (
	"errors"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/progress"
	"github.com/stagegate/stagegate/internal/result"
)

// chain: test and final stand on build; final also copies from tools; docs
// is reached by nothing.
const chain = `FROM busybox AS base
RUN echo base > /base

FROM base AS build
RUN echo build > /build

FROM build AS test
RUN test -s /build

FROM busybox AS tools
RUN echo tools > /tools

FROM busybox AS docs
RUN echo docs

FROM build AS final
COPY --from=tools /tools /tools
`

func planFor(t *testing.T, src string, opts dockerfile.PlanOptions) *dockerfile.Plan {
	t.Helper()
	return planIn(t, src, nil, opts)
}

// planIn plans a Dockerfile whose build context is context.
func planIn(t *testing.T, src string, context fs.FS, opts dockerfile.PlanOptions) *dockerfile.Plan {
	t.Helper()
	g, err := dockerfile.Parse("Dockerfile", []byte(src), dockerfile.Options{Context: context})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := g.Plan(opts)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func stage(t *testing.T, plan *dockerfile.Plan, name string) *dockerfile.Stage {
	t.Helper()
	st, ok := plan.Graph.Stage(name)
	if !ok {
		t.Fatalf("no stage %s", name)
	}
	return st
}

func TestRow(t *testing.T) {
	start := time.Date(2026, 11, 30, 6, 0, 0, 0, time.FixedZone("CET", 3600))
	figures := func(s progress.StageStats) *progress.StageStats {
		s.Started, s.Ended, s.Duration = start, start.Add(2*time.Second), 2*time.Second
		return &s
	}
	tests := []struct {
		name  string
		stats *progress.StageStats
		built bool
		want  result.Status
	}{
		{"a step failed", figures(progress.StageStats{Steps: 2, Done: false, Failed: &progress.Step{Name: "RUN false"}}), false, result.StatusFailed},
		{"a step failed in a solved target", figures(progress.StageStats{Steps: 2, Failed: &progress.Step{}}), true, result.StatusFailed},
		{"done, a step ran", figures(progress.StageStats{Steps: 2, CachedSteps: 1, Ran: true, Done: true}), false, result.StatusPassed},
		{"done, every step cached", figures(progress.StageStats{Steps: 2, CachedSteps: 2, Done: true}), false, result.StatusCached},
		{"done, no step", figures(progress.StageStats{Done: true}), false, result.StatusPassed},
		{"built, the stream said nothing", nil, true, result.StatusPassed},
		{"built, the stream saw it unfinished", figures(progress.StageStats{Steps: 1}), true, result.StatusPassed},
		{"seen, unfinished, not built", figures(progress.StageStats{Steps: 1}), false, result.StatusCancelled},
		{"never seen, not built", nil, false, result.StatusSkipped},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			row := Row(result.Stage{Name: "app"}, tc.stats, tc.built)
			if row.Status != tc.want {
				t.Errorf("status %s, want %s", row.Status, tc.want)
			}
			if tc.stats == nil {
				if row.StartedAt != nil || row.Duration != 0 || row.Steps != 0 {
					t.Errorf("figures of a stage the stream did not see: %+v", row)
				}
				return
			}
			if row.Duration != 2 || row.Steps != tc.stats.Steps || row.CachedSteps != tc.stats.CachedSteps {
				t.Errorf("figures %v s, %d/%d steps; want 2 s, %d/%d", row.Duration, row.CachedSteps, row.Steps, tc.stats.CachedSteps, tc.stats.Steps)
			}
			if row.StartedAt == nil || !row.StartedAt.Equal(start) || row.StartedAt.Location() != time.UTC || !row.CompletedAt.Equal(start.Add(2*time.Second)) {
				t.Errorf("times %v - %v, want %v - %v in UTC", row.StartedAt, row.CompletedAt, start, start.Add(2*time.Second))
			}
		})
	}
	// A stage seen but never started has no times.
	if row := Row(result.Stage{}, &progress.StageStats{Steps: 1}, false); row.StartedAt != nil || row.CompletedAt != nil {
		t.Errorf("times of a stage that never started: %v - %v", row.StartedAt, row.CompletedAt)
	}
}

type rowKey struct {
	name, platform string
	status         result.Status
}

func keys(rows []result.Stage) []rowKey {
	var out []rowKey
	for _, r := range rows {
		out = append(out, rowKey{r.Name, r.Platform, r.Status})
	}
	return out
}

func TestRows(t *testing.T) {
	plan := planFor(t, chain, dockerfile.PlanOptions{})
	done := &progress.StageStats{Steps: 1, Ran: true, Done: true}
	tests := []struct {
		name       string
		solved     []string
		stats      map[string]*progress.StageStats
		byPlatform map[progress.StageKey]*progress.StageStats
		want       []rowKey
	}{
		{
			name: "nothing built",
			want: []rowKey{{"base", "", "skipped"}, {"build", "", "skipped"}, {"test", "", "skipped"}, {"tools", "", "skipped"}, {"final", "", "skipped"}},
		},
		{
			name:   "the test target solved, the final target failed",
			solved: []string{"test"},
			stats:  map[string]*progress.StageStats{"tools": {Steps: 1, Failed: &progress.Step{}}},
			want:   []rowKey{{"base", "", "passed"}, {"build", "", "passed"}, {"test", "", "passed"}, {"tools", "", "failed"}, {"final", "", "skipped"}},
		},
		{
			name:   "several platforms: a row per platform seen, in order; none for a stage not seen",
			solved: []string{"test", "final"},
			stats:  map[string]*progress.StageStats{"base": done, "build": done},
			byPlatform: map[progress.StageKey]*progress.StageStats{
				{Stage: "base", Platform: "linux/arm64"}:  done,
				{Stage: "base", Platform: "linux/amd64"}:  done,
				{Stage: "build", Platform: "linux/arm64"}: {Steps: 1, Failed: &progress.Step{}},
			},
			want: []rowKey{
				{"base", "linux/amd64", "passed"}, {"base", "linux/arm64", "passed"},
				{"build", "linux/arm64", "failed"},
				{"test", "", "passed"}, {"tools", "", "passed"}, {"final", "", "passed"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var solved []*dockerfile.Stage
			for _, name := range tc.solved {
				solved = append(solved, stage(t, plan, name))
			}
			got := keys(Rows(plan, solved, tc.stats, tc.byPlatform))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("rows\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	plan := planFor(t, chain, dockerfile.PlanOptions{})
	tests := []struct {
		stage     string
		base      string
		dependsOn []string
		roles     []result.Role
		reachedBy []string
	}{
		{"base", "", nil, []result.Role{result.RoleDep}, []string{"test", "final"}},
		{"build", "base", []string{"base"}, []result.Role{result.RoleDep}, []string{"test", "final"}},
		{"test", "build", []string{"build"}, []result.Role{result.RoleTest}, []string{"test"}},
		{"tools", "", nil, []result.Role{result.RoleDep}, []string{"final"}},
		{"docs", "", nil, nil, nil},
		{"final", "build", []string{"build", "tools"}, []result.Role{result.RoleTarget}, []string{"final"}},
	}
	for _, tc := range tests {
		row := Describe(plan, stage(t, plan, tc.stage))
		if row.BaseStage != tc.base || !reflect.DeepEqual(row.DependsOn, tc.dependsOn) || !reflect.DeepEqual(row.Roles, tc.roles) || !reflect.DeepEqual(row.ReachedBy, tc.reachedBy) {
			t.Errorf("%s: base %q, depends on %v, roles %v, reached by %v; want %q, %v, %v, %v",
				tc.stage, row.BaseStage, row.DependsOn, row.Roles, row.ReachedBy, tc.base, tc.dependsOn, tc.roles, tc.reachedBy)
		}
	}
	// The last stage built as its own test and target has both roles.
	plan = planFor(t, chain, dockerfile.PlanOptions{Target: "test", TestPatterns: []string{"test"}})
	if row := Describe(plan, plan.Target); !reflect.DeepEqual(row.Roles, []result.Role{result.RoleTest, result.RoleTarget}) {
		t.Errorf("roles of a stage that is test and target: %v", row.Roles)
	}
}

// noTests has a stage named for tests that runs none, and the final target
// does not build on it: a near miss, not a test stage.
const noTests = `FROM busybox AS base
RUN echo base > /v

FROM base AS test
RUN mkdir -p /deps

FROM base AS final
CMD ["cat", "/v"]
`

func TestPlan(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		opts     dockerfile.PlanOptions
		target   string
		tests    []string
		rejected []string
		noTests  string
	}{
		{name: "found", src: chain, target: "final", tests: []string{"test"}},
		{name: "named", src: chain, opts: dockerfile.PlanOptions{Target: "build", TestPatterns: []string{"test"}}, target: "build", tests: []string{"test"}},
		{name: "off", src: chain, opts: dockerfile.PlanOptions{TestPatterns: []string{"none"}}, target: "final", tests: []string{}, noTests: result.NoTestsOff},
		{name: "none found", src: noTests, target: "final", tests: []string{}, noTests: result.NoTestsFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan := planFor(t, tc.src, tc.opts)
			p := Plan(plan)
			names := []string{}
			for _, tt := range p.TestTargets {
				names = append(names, tt.Name)
				if tt.Reason == "" || tt.Mode == "" {
					t.Errorf("test target %s has no reason or mode: %+v", tt.Name, tt)
				}
			}
			if p.File != "Dockerfile" || p.Target != tc.target || p.TargetReason == "" || !reflect.DeepEqual(names, tc.tests) || p.NoTests != tc.noTests {
				t.Errorf("plan %+v; want target %s, tests %v, no tests %q", p, tc.target, tc.tests, tc.noTests)
			}
			if len(p.Stages) != len(plan.Graph.Stages) {
				t.Errorf("%d rows, want one for each of the %d stages", len(p.Stages), len(plan.Graph.Stages))
			}
			for _, st := range p.Stages {
				if st.Status != "" {
					t.Errorf("stage %s has status %s in a plan", st.Name, st.Status)
				}
			}
		})
	}
}

func TestUntested(t *testing.T) {
	run := Run{File: "Dockerfile", Context: "."}
	plan := planFor(t, noTests, dockerfile.PlanOptions{})
	res := Untested(plan, run, `input "test-targets"`)
	if res.Result != result.Failed || !strings.Contains(res.Error, `name the test stages with input "test-targets", or set it to "none"`) {
		t.Errorf("verdict %s, error %q", res.Result, res.Error)
	}
	if len(plan.Rejected) == 0 {
		t.Fatal("the Dockerfile has no near miss to point at")
	}
	c := plan.Rejected[0]
	if f := res.Failure; f == nil || f.Line != c.Line || !strings.Contains(f.Message, "Stage "+c.Name+" looked like one") || len(res.Failures) != 1 {
		t.Errorf("failure %+v, want one at line %d naming %s", res.Failure, c.Line, c.Name)
	}
	for _, row := range res.Stages {
		if row.Status != result.StatusSkipped {
			t.Errorf("stage %s is %s, want skipped", row.Name, row.Status)
		}
	}
	if len(res.Stages) != len(plan.Stages) || res.NoTests != result.NoTestsFound {
		t.Errorf("%d rows (want %d), no tests %q", len(res.Stages), len(plan.Stages), res.NoTests)
	}

	// Without a near miss, the failure is at the first line.
	plan = planFor(t, "FROM busybox AS app\nRUN true\n", dockerfile.PlanOptions{})
	if res := Untested(plan, run, "--test-target"); res.Failure.Line != 1 || res.Failure.Message != res.Error {
		t.Errorf("failure %+v", res.Failure)
	}
}

func junit(failed ...string) []build.ReportFile {
	var b strings.Builder
	b.WriteString(`<testsuite name="unit" tests="3">`)
	b.WriteString(`<testcase name="TestOK"/>`)
	for _, name := range failed {
		b.WriteString(`<testcase name="` + name + `"><failure message="boom"/></testcase>`)
	}
	b.WriteString(`</testsuite>`)
	return []build.ReportFile{{Path: "/out/junit.xml", Data: []byte(b.String())}}
}

func TestResult(t *testing.T) {
	plan := planFor(t, chain, dockerfile.PlanOptions{})
	done := &progress.StageStats{Steps: 1, Ran: true, Done: true}
	all := map[string]*progress.StageStats{"base": done, "build": done, "test": done, "tools": done, "final": done}
	solvedAll := []*dockerfile.Stage{stage(t, plan, "test"), stage(t, plan, "final")}
	finalFailed := result.Failure{Stage: "final", Target: "final", Message: "COPY failed", LogTail: []string{}}
	tests := []struct {
		name     string
		run      Run
		verdict  result.Verdict
		failures []string // stage: message prefix
		statuses map[string]result.Status
		rows     map[string]result.Status // by "stage platform"
		warnings []string                 // substrings, in order
	}{
		{
			name:    "passed",
			run:     Run{Solved: solvedAll, Stats: all, Tests: map[string]*build.TestOutcome{"test": {Target: "test"}}},
			verdict: result.Passed,
		},
		{
			name:     "the final target failed",
			run:      Run{Solved: []*dockerfile.Stage{stage(t, plan, "test")}, Stats: all, Failures: []result.Failure{finalFailed}},
			verdict:  result.Failed,
			failures: []string{"final: COPY failed"},
			statuses: map[string]result.Status{"test": result.StatusPassed, "final": result.StatusFailed},
		},
		{
			name: "the reports say tests failed: after the build's failures",
			run: Run{Solved: solvedAll, Stats: all, Failures: []result.Failure{finalFailed},
				Tests: map[string]*build.TestOutcome{"test": {Target: "test", Reports: junit("TestA", "TestB")}}},
			verdict:  result.Failed,
			failures: []string{"final: COPY failed", "test: 2 test(s) failed according to the test reports: TestA, TestB"},
			statuses: map[string]result.Status{"test": result.StatusFailed, "final": result.StatusFailed},
		},
		{
			name: "reports expected, none read, tests required",
			run: Run{Solved: solvedAll, Stats: all, TestReports: []string{"/out/*.xml"}, RequireTests: true,
				Tests: map[string]*build.TestOutcome{"test": {Target: "test", ReportErrors: []string{"no file matched /out/*.xml"}}}},
			verdict:  result.Failed,
			failures: []string{"test: stage test ran no test, and tests are required: test reports were expected"},
			statuses: map[string]result.Status{"test": result.StatusFailed, "final": result.StatusPassed},
			warnings: []string{"stage test: test reports were expected", "stage test: no file matched"},
		},
		{
			name: "reports expected, none read, tests not required: a warning",
			run: Run{Solved: solvedAll, Stats: all, TestReports: []string{"/out/*.xml"},
				Tests: map[string]*build.TestOutcome{"test": {Target: "test"}}, Warnings: []string{"cache export failed"}},
			verdict:  result.Passed,
			statuses: map[string]result.Status{"test": result.StatusPassed},
			warnings: []string{"cache export failed", "stage test: test reports were expected"},
		},
		{
			name: "interrupted: cancelled, the failure that says only that goes",
			run: Run{Solved: []*dockerfile.Stage{stage(t, plan, "test")}, Interrupted: "cancelled: SIGTERM",
				Stats:    map[string]*progress.StageStats{"base": done, "build": done, "test": done, "tools": {Steps: 1, Failed: &progress.Step{Error: "context canceled"}}},
				Failures: []result.Failure{{Message: "cancelled: SIGTERM"}}},
			verdict:  result.Cancelled,
			statuses: map[string]result.Status{"test": result.StatusPassed, "tools": result.StatusCancelled, "final": result.StatusCancelled},
		},
		{
			name: "several platforms: the failure stays on the platform's row that failed",
			run: Run{Solved: []*dockerfile.Stage{stage(t, plan, "test")}, Stats: all,
				PlatformStats: map[progress.StageKey]*progress.StageStats{
					{Stage: "final", Platform: "linux/amd64"}: done,
					{Stage: "final", Platform: "linux/arm64"}: {Steps: 1, Failed: &progress.Step{Error: "exit code: 1"}},
				},
				Failures: []result.Failure{finalFailed}},
			verdict:  result.Failed,
			failures: []string{"final: COPY failed"},
			rows:     map[string]result.Status{"final linux/amd64": result.StatusPassed, "final linux/arm64": result.StatusFailed},
		},
		{
			name: "timed out before the test stage started: failed, the stages not run cancelled",
			run: Run{TimedOut: true, Stats: map[string]*progress.StageStats{"base": done},
				Failures: []result.Failure{{Message: "the build did not finish within 3s (the timeout): it was stopped"}}},
			verdict:  result.Failed,
			failures: []string{": the build did not finish within 3s"},
			statuses: map[string]result.Status{"base": result.StatusPassed, "test": result.StatusCancelled, "final": result.StatusCancelled},
		},
		{
			name: "interrupted after a step failed on its own: that stage stays failed",
			run: Run{Interrupted: "cancelled: SIGINT",
				Stats:    map[string]*progress.StageStats{"base": done, "build": done, "test": {Steps: 1, Failed: &progress.Step{Error: "exit code: 1"}}},
				Failures: []result.Failure{{Stage: "test", Message: "process did not complete successfully"}, {Message: "cancelled: SIGINT"}}},
			verdict:  result.Cancelled,
			failures: []string{"test: process did not complete successfully"},
			statuses: map[string]result.Status{"test": result.StatusFailed, "final": result.StatusCancelled},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run.File = "Dockerfile"
			res := Result(plan, tc.run)
			if res.Result != tc.verdict {
				t.Errorf("verdict %s, want %s (error %q)", res.Result, tc.verdict, res.Error)
			}
			var got []string
			for _, f := range res.Failures {
				got = append(got, f.Stage+": "+f.Message)
			}
			if len(got) != len(tc.failures) {
				t.Fatalf("failures %q, want %q", got, tc.failures)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.failures[i]) {
					t.Errorf("failure %d: %q, want %q...", i, got[i], tc.failures[i])
				}
			}
			switch {
			case len(res.Failures) > 0 && (res.Failure != &res.Failures[0]):
				t.Errorf("Failure is not the first of Failures")
			case len(res.Failures) == 0 && res.Failure != nil:
				t.Errorf("Failure %+v without failures", res.Failure)
			case len(res.Failures) > 0 && tc.verdict == result.Failed && res.Error != res.Failures[0].Message:
				t.Errorf("error %q, want the first failure's message", res.Error)
			case tc.verdict == result.Cancelled && res.Error != tc.run.Interrupted:
				t.Errorf("error %q, want %q", res.Error, tc.run.Interrupted)
			}
			for name, want := range tc.statuses {
				if s := res.Stage(name); s == nil || s.Status != want {
					t.Errorf("stage %s: %+v, want %s", name, s, want)
				}
			}
			for key, want := range tc.rows {
				found := false
				for _, s := range res.Stages {
					if s.Name+" "+s.Platform == key {
						found = true
						if s.Status != want {
							t.Errorf("row %s: %s, want %s", key, s.Status, want)
						}
					}
				}
				if !found {
					t.Errorf("no row %s", key)
				}
			}
			rest := strings.Join(res.Warnings, "\n")
			for _, w := range tc.warnings {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("warnings %q: %q missing or out of order", res.Warnings, w)
					break
				}
				rest = rest[i+len(w):]
			}
			if test := res.Stage("test"); test.Tests == nil || test.Tests.Mode != result.TestModeBuild {
				t.Errorf("the test stage's tests: %+v", test.Tests)
			}
		})
	}
}

// The test stage's command was run: its results say how.
func TestResultTestRun(t *testing.T) {
	plan := planFor(t, chain, dockerfile.PlanOptions{})
	run := Run{File: "Dockerfile", Solved: []*dockerfile.Stage{stage(t, plan, "test")},
		Tests: map[string]*build.TestOutcome{"test": {Target: "test", Err: errors.New("exit 3"), Run: &build.TestRun{Args: []string{"go", "test"}, ExitCode: 3}}}}
	tr := Result(plan, run).Stage("test").Tests
	if tr.Mode != result.TestModeRun || !reflect.DeepEqual(tr.Command, []string{"go", "test"}) || tr.ExitCode == nil || *tr.ExitCode != 3 {
		t.Errorf("tests %+v", tr)
	}
}

// With no test stage found and none required, the result says so first.
func TestResultNoTests(t *testing.T) {
	plan := planFor(t, noTests, dockerfile.PlanOptions{})
	res := Result(plan, Run{Warnings: []string{"later"}})
	if len(res.Warnings) != 2 || res.Warnings[0] != noTestsWarning || res.NoTests != result.NoTestsFound {
		t.Errorf("warnings %q, no tests %q", res.Warnings, res.NoTests)
	}
}

// A build-mode test stage whose test command cannot fail its step is warned
// of, unless its reports were read: they would show a failing test.
func TestResultWarnsOfALostTestStatus(t *testing.T) {
	const piped = "FROM golang AS test\nRUN go test -v ./... | tee /out/test.log\n\nFROM golang AS final\n"
	const pipedWarning = `stage test: Dockerfile:2: failing tests would not fail the build: "go test -v ./..." does not end the step with its status, because it is piped into "tee /out/test.log"`
	const entrypoint = "FROM python AS test\nCOPY entrypoint.sh /\nCMD [\"/entrypoint.sh\"]\n\nFROM python AS final\n"
	context := fstest.MapFS{"entrypoint.sh": {Data: []byte("#!/bin/sh\npython -m pytest\ncoverage xml\n")}}
	ran := &build.TestOutcome{Target: "test", Run: &build.TestRun{Args: []string{"/entrypoint.sh"}}}
	for _, tc := range []struct {
		name       string
		dockerfile string
		outcome    *build.TestOutcome
		want       string // the warning's start; "" : none
	}{
		{"piped, no reports", piped, &build.TestOutcome{Target: "test"}, pipedWarning},
		{"piped, reports read", piped, &build.TestOutcome{Target: "test", Reports: junit()}, ""},
		{"chained with &&", "FROM golang AS test\nRUN go vet ./... && go test ./...\n\nFROM golang AS final\n", &build.TestOutcome{Target: "test"}, ""},
		{"a command's script without set -e", entrypoint, ran,
			`stage test: entrypoint.sh: failing tests would not fail the build: "python -m pytest" does not end the script with its status, because "coverage xml" runs after it`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := planIn(t, tc.dockerfile, context, dockerfile.PlanOptions{})
			res := Result(plan, Run{File: "Dockerfile", Solved: []*dockerfile.Stage{stage(t, plan, "test"), stage(t, plan, "final")},
				Tests: map[string]*build.TestOutcome{"test": tc.outcome}})
			warned := slices.ContainsFunc(res.Warnings, func(w string) bool { return tc.want != "" && strings.HasPrefix(w, tc.want) })
			if warned != (tc.want != "") || (tc.want == "" && len(res.Warnings) > 0) || res.Result != result.Passed {
				t.Errorf("%s, warnings %q: want %q", res.Result, res.Warnings, tc.want)
			}
		})
	}
}
