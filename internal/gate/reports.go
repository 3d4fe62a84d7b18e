package gate

import (
	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/result"
)

// addReports parses the test reports read from a stage into its results.
func addReports(tr *result.TestResults, files []build.ReportFile, contextDir string) {
	for _, f := range files {
		tr.Reports = append(tr.Reports, f.Path)
	}
}
