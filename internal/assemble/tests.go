package assemble

import (
	"fmt"
	"strings"

	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/testreport"
)

// slowestTests is how many of the slowest tests a test stage's results list.
const slowestTests = 5

// testStages records on each test stage's row how its tests ran and what
// their reports say, and returns the warnings and failures that adds, in
// row order. Under run.RequireTests, a test stage in which no test ran
// fails; so does one whose reports list failed tests.
func testStages(plan *dockerfile.Plan, rows []result.Stage, run Run) (warnings []string, failures []result.Failure) {
	for i := range rows {
		row := &rows[i]
		if !row.HasRole(result.RoleTest) {
			continue
		}
		w, f := testStage(plan.Graph.Stages[row.Index], row, run.Tests[row.Name], run)
		warnings = append(warnings, w...)
		failures = append(failures, f...)
	}
	return warnings, failures
}

// testStage fills in the Tests of one test stage's row (and fails it when
// its tests did) from the stage's outcome, nil when it was not built.
func testStage(st *dockerfile.Stage, row *result.Stage, to *build.TestOutcome, run Run) (warnings []string, failures []result.Failure) {
	tr := &result.TestResults{Mode: result.TestModeBuild}
	row.Tests = tr
	if to != nil && to.Run != nil {
		tr.Mode = result.TestModeRun
		tr.Command = to.Run.Args
		code := to.Run.ExitCode
		tr.ExitCode = &code
	}
	switch {
	case tr.Mode == result.TestModeBuild && st.Runs == 0 && st.Command != "":
		tr.NotRun = "test-mode is build and the stage's tests are its command, " + st.Command + ", which was not run: no test ran (use test-mode run or auto)"
	case tr.Mode == result.TestModeBuild && st.Runs == 0:
		tr.NotRun = "the stage has no RUN step and no CMD/ENTRYPOINT: it runs no tests"
	case tr.Mode == result.TestModeBuild && st.Command != "":
		tr.CommandNotRun = st.Command
		warnings = append(warnings, "stage "+st.Name+": its command, "+st.Command+", was not run: the stage was tested by building it (its RUN steps)")
	}
	if to != nil {
		tr.Warnings = append(tr.Warnings, to.ReportErrors...)
		addReports(tr, to.Reports, run.GoModule)
	}
	tc := st.RunTest
	if tr.Mode == result.TestModeRun {
		tc = st.CmdTest
	}
	if tc != nil && tc.StatusLost != "" && len(tr.Suites) == 0 {
		// Nothing else would see a test fail: the stage passes whatever
		// the tests said.
		where, what := fmt.Sprintf("%s:%d", run.File, tc.Line), "step"
		if tc.Script != "" {
			where, what = tc.Script, "script"
		}
		warnings = append(warnings, fmt.Sprintf("stage %s: %s: failing tests would not fail the build: %q does not end the %s with its status, because %s. Chain it with &&, start the script with set -e (and set -o pipefail for a pipe), or read its results with test-reports",
			st.Name, where, tc.Command, what, tc.StatusLost))
	}
	if tr.NotRun == "" && len(run.TestReports) > 0 && len(tr.Suites) == 0 && row.Status != result.StatusFailed && to != nil {
		tr.NotRun = "test reports were expected (" + strings.Join(run.TestReports, ", ") + ") but the stage left none that could be read: no test result was seen"
	}
	if tr.NotRun != "" {
		warnings = append(warnings, "stage "+st.Name+": "+tr.NotRun)
		if run.RequireTests && row.Status != result.StatusFailed && row.Status != result.StatusCancelled && row.Status != result.StatusSkipped {
			row.Status = result.StatusFailed
			failures = append(failures, result.Failure{
				Stage: st.Name, Target: st.Name, File: run.File, Line: st.Line, EndLine: st.Line,
				Message: "stage " + st.Name + " ran no test, and tests are required: " + tr.NotRun, LogTail: []string{},
			})
		}
	}
	warnings = append(warnings, prefixed("stage "+st.Name+": ", tr.Warnings)...)
	if len(tr.Failed) > 0 && row.Status != result.StatusFailed {
		// The command passed (e.g. "|| true" to keep the reports), but
		// the reports say tests failed: so did the stage.
		row.Status = result.StatusFailed
		line := st.CommandLine()
		if tr.Mode == result.TestModeBuild || line == 0 {
			line = st.EndLine
		}
		failures = append(failures, result.Failure{
			Stage: st.Name, Target: st.Name, File: run.File, Line: line, EndLine: line,
			Message: fmt.Sprintf("%d test(s) failed according to the test reports: %s", len(tr.Failed), failedNames(tr.Failed)),
			LogTail: []string{},
		})
	}
	return warnings, failures
}

// addReports parses the test reports read from a stage into its results,
// resolving the Go files they name against module ("" : not a Go module).
// A report that does not parse is a warning, never a failure of the run.
func addReports(tr *result.TestResults, files []build.ReportFile, module string) {
	var reports []*testreport.Report
	for _, f := range files {
		tr.Reports = append(tr.Reports, f.Path)
		rep, err := testreport.Parse(f.Path, f.Data)
		if err != nil {
			tr.Warnings = append(tr.Warnings, "test report "+err.Error())
			continue
		}
		if module != "" {
			rep.ResolveGoFiles(module)
		}
		reports = append(reports, rep)
	}
	if len(reports) == 0 {
		return
	}
	tr.Suites, tr.Slowest, tr.Failed = testreport.Summarize(reports, slowestTests)
}

// failedNames lists the first five failed tests, and how many more failed.
func failedNames(cases []result.TestCase) string {
	var names []string
	for i, c := range cases {
		if i == 5 {
			names = append(names, fmt.Sprintf("and %d more", len(cases)-5))
			break
		}
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

func prefixed(p string, list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = p + s
	}
	return out
}
