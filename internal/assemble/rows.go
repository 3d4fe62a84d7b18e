package assemble

import (
	"maps"
	"slices"

	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/progress"
	"github.com/stagegate/stagegate/internal/result"
)

// Rows are the result rows of every stage the plan reaches, from the status
// stream's figures: one row a stage, or, when byPlatform is set (several
// platforms were built), one row a stage and platform it was seen on, in the
// platforms' order. solved are the targets the build solved: every stage
// they reach was built.
func Rows(plan *dockerfile.Plan, solved []*dockerfile.Stage, stats map[string]*progress.StageStats, byPlatform map[progress.StageKey]*progress.StageStats) []result.Stage {
	built := map[int]bool{}
	for _, st := range plan.Graph.Reach(solved...) {
		built[st.Index] = true
	}
	rows := make([]result.Stage, 0, len(plan.Stages))
	if byPlatform == nil {
		for _, st := range plan.Stages {
			rows = append(rows, Row(Describe(plan, st), stats[st.Name], built[st.Index]))
		}
		return rows
	}
	platformsOf := map[string]map[string]*progress.StageStats{}
	for k, s := range byPlatform {
		if platformsOf[k.Stage] == nil {
			platformsOf[k.Stage] = map[string]*progress.StageStats{}
		}
		platformsOf[k.Stage][k.Platform] = s
	}
	for _, st := range plan.Stages {
		ps := slices.Sorted(maps.Keys(platformsOf[st.Name]))
		if len(ps) == 0 {
			rows = append(rows, Row(Describe(plan, st), nil, built[st.Index]))
			continue
		}
		for _, p := range ps {
			row := Describe(plan, st)
			row.Platform = p
			rows = append(rows, Row(row, platformsOf[st.Name][p], built[st.Index]))
		}
	}
	return rows
}

// Row completes a stage's row from what the status stream said of it (s,
// nil when it said nothing) and whether a solved target reached it.
func Row(row result.Stage, s *progress.StageStats, built bool) result.Stage {
	switch {
	case s != nil && s.Failed != nil:
		row.Status = result.StatusFailed
	case s != nil && s.Done:
		row.Status = result.StatusPassed
		if !s.Ran && s.Steps > 0 && s.CachedSteps == s.Steps {
			row.Status = result.StatusCached
		}
	case built:
		// A target that was solved had every stage it reaches built, even
		// when the status stream did not say so of each step: BuildKit may
		// have merged a step into another build's step of another name,
		// and then tells this build only of that one (see
		// progress.Tracker's steps). And a stage with no step of its own
		// (FROM another stage, then only metadata instructions) is built
		// when its target is.
		row.Status = result.StatusPassed
	case s != nil:
		row.Status = result.StatusCancelled
	default:
		row.Status = result.StatusSkipped
	}
	if s != nil {
		row.Duration = s.Duration.Seconds()
		if !s.Started.IsZero() {
			row.StartedAt, row.CompletedAt = ptr(s.Started.UTC()), ptr(s.Ended.UTC())
		}
		row.Steps = s.Steps
		row.CachedSteps = s.CachedSteps
	}
	return row
}

func ptr[T any](v T) *T { return &v }
