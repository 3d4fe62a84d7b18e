package gate

import (
	"context"

	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/stagesize"
)

// sizingPlan is the plan as sizing reads it.
func sizingPlan(cfg *Config, plan *dockerfile.Plan) stagesize.Plan {
	return stagesize.Plan{Plan: plan, Platforms: cfg.Platforms, TestPlatforms: cfg.TestPlatforms}
}

// measureSizes measures the image of every stage that was built (see
// stagesize.Measure) and puts the sizes into the result.
func measureSizes(ctx context.Context, cfg *Config, plan *dockerfile.Plan, b *build.Builder, features build.Features, job *build.Job, res *result.Result, out *build.Outcome) {
	var rows []int
	var imgs []stagesize.Image
	for i, st := range res.Stages {
		if st.Status != result.StatusPassed && st.Status != result.StatusCached {
			continue
		}
		rows = append(rows, i)
		imgs = append(imgs, stagesize.Image{Stage: plan.Graph.Stages[st.Index], Platform: st.Platform})
	}
	m := stagesize.Measure(ctx, sizingPlan(cfg, plan), imgs, stagesize.Builder{Builder: b, Features: features, Job: job}, out, cfg.LayerCachePath)
	res.Warnings = append(res.Warnings, m.Warnings...)
	setSizes(res, rows, m.Sizes)
}

// setSizes puts the sizes measured of the result rows rows (nil: unknown)
// into those rows and the final image, with each stage's difference from its
// base stage.
func setSizes(res *result.Result, rows []int, sizes []*stagesize.Size) {
	byStage := map[[2]string]int64{}
	for k, i := range rows {
		s := sizes[k]
		if s == nil {
			continue
		}
		st := &res.Stages[i]
		st.Size, st.CompressedSize, st.Layers = ptr(s.Uncompressed), s.Compressed, ptr(s.Layers)
		byStage[[2]string{st.Name, st.Platform}] = *st.Size
		if st.HasRole(result.RoleTarget) && res.Image != nil {
			res.Image.Size, res.Image.CompressedSize = st.Size, st.CompressedSize
		}
	}
	for i := range res.Stages {
		st := &res.Stages[i]
		if base, ok := byStage[[2]string{st.BaseStage, st.Platform}]; ok && st.Size != nil {
			st.BaseDelta = ptr(*st.Size - base)
		}
	}
}
