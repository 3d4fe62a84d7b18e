package assemble

import (
	"context"
	"strings"

	"github.com/stagegate/stagegate/internal/progress"
	"github.com/stagegate/stagegate/internal/result"
)

// interrupted makes res the result of a run stopped from outside (a signal,
// the job cancelled): its verdict is cancelled, not failed, and so is every
// stage the interruption stopped or kept from starting. why is the
// interruption's message; the failure that says only that goes. A stage
// whose step had failed on its own before (fail-fast false) stays failed.
func interrupted(res *result.Result, stats map[string]*progress.StageStats, why string) {
	res.Result = result.Cancelled
	res.Error = why
	var fs []result.Failure
	failed := map[string]bool{}
	for _, f := range res.Failures {
		if f.Message != why {
			fs = append(fs, f)
			failed[f.Stage] = true
		}
	}
	res.Failures, res.Failure = fs, nil
	if len(fs) > 0 {
		res.Failure = &res.Failures[0]
	}
	for i := range res.Stages {
		row := &res.Stages[i]
		if row.Status != result.StatusFailed && row.Status != result.StatusSkipped {
			continue
		}
		if s := stats[row.Name]; failed[row.Name] || (s != nil && s.Failed != nil && !cancelledStep(s.Failed.Error)) {
			row.Status = result.StatusFailed
			continue
		}
		row.Status = result.StatusCancelled
	}
}

// cancelledStep reports whether a step's error (as the status stream gives
// it) is BuildKit stopping the step because the build was cancelled.
func cancelledStep(err string) bool {
	return strings.Contains(err, context.Canceled.Error())
}

// timedOut marks the stages of a run stopped by its time limit that had not
// started, or not been seen to start, as cancelled: the limit kept them from
// running, nothing decided to skip them. The verdict stays failed.
func timedOut(res *result.Result) {
	for i := range res.Stages {
		if row := &res.Stages[i]; row.Status == result.StatusSkipped {
			row.Status = result.StatusCancelled
		}
	}
}
