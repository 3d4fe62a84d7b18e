package gate

import (
	"os"
	"path/filepath"

	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/testreport"
)

// slowestTests is how many of the slowest tests a summary lists.
const slowestTests = 5

// addReports parses the test reports read from a stage into its results. A
// report that does not parse is a warning, never a failure of the run.
func addReports(tr *result.TestResults, files []build.ReportFile, contextDir string) {
	module := ""
	if gomod, err := os.ReadFile(filepath.Join(contextDir, "go.mod")); err == nil {
		module = testreport.ModulePath(gomod)
	}
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
