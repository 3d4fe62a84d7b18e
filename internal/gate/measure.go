package gate

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/buildkit/client"
	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/sizes"
)

// layerWorkers is how many layers are read back at once: each read mostly
// waits on the builder's content API.
const layerWorkers = 4

// stageImages says which stages are exported for sizing beside the build,
// once its targets are solved: every stage those targets reached, except the
// final target when the build exports it (it is measured from that export).
// Multi-platform builds are measured after the build (measure).
func stageImages(cfg *Config, g *dockerfile.Graph, plan *dockerfile.Plan) func(solved []string, exported bool) []build.StageImage {
	return func(solved []string, exported bool) []build.StageImage {
		if len(cfg.Platforms) > 1 {
			return nil
		}
		var targets []*dockerfile.Stage
		for _, name := range solved {
			targets = append(targets, stageOf(g, name))
		}
		var imgs []build.StageImage
		for _, st := range g.Reach(targets...) {
			row := Describe(g, plan, st)
			if exported && row.HasRole(result.RoleTarget) {
				continue
			}
			target, err := frontendTarget(g, st)
			if err != nil {
				continue
			}
			imgs = append(imgs, build.StageImage{Target: target, Platform: stagePlatform(cfg, &row)})
		}
		return imgs
	}
}

// measure sizes every stage that was built: the final target from the
// build's own export; the others from the export made beside the build
// (stageImages), or, for stages it did not cover, by exporting them again
// (cached) in one client.Build. Each export is one unnamed image index,
// which stays in BuildKit's content store and in no image store. Layer sizes
// already measured by an earlier run come from the layer cache.
func measure(ctx context.Context, cfg *Config, g *dockerfile.Graph, job *build.Job, meter *sizes.Meter, res *result.Result, out *build.Outcome) {
	measured := make([]*sizes.Size, len(res.Stages))
	warn := func(format string, args ...any) {
		res.Warnings = append(res.Warnings, fmt.Sprintf(format, args...))
	}

	// What the export beside the build holds, by image.
	var beside map[build.StageImage]sizes.Size
	if e := out.StageExport; e != nil && e.Err == nil && len(e.Images) > 0 {
		all, err := sizesOf(ctx, meter, e.Response, len(e.Images))
		if err == nil {
			beside = map[build.StageImage]sizes.Size{}
			for k, img := range e.Images {
				beside[img] = all[k]
			}
		}
	}

	var later []int
	var imgs []build.StageImage
	for i := range res.Stages {
		st := &res.Stages[i]
		if st.Status != result.StatusPassed && st.Status != result.StatusCached {
			continue
		}
		if st.HasRole(result.RoleTarget) && out.Response != nil {
			desc, err := sizes.Descriptor(out.Response)
			if err == nil {
				var s sizes.Size
				if s, err = meter.ImageFor(ctx, desc, st.Platform); err == nil {
					measured[i] = &s
					continue
				}
			}
			warn("size of stage %q: %v", st.Name, err)
			continue
		}
		target, err := frontendTarget(g, g.Stages[st.Index])
		if err != nil {
			warn("size of %s is unknown: BuildKit cannot build an unnamed stage on its own; name it with AS to see its size", st.Name)
			continue
		}
		img := build.StageImage{Target: target, Platform: stagePlatform(cfg, st)}
		if s, ok := beside[img]; ok {
			measured[i] = &s
			continue
		}
		later = append(later, i)
		imgs = append(imgs, img)
	}
	if len(imgs) > 0 {
		all, err := exportSizes(ctx, job, meter, imgs)
		if err != nil {
			warn("sizes of %s: %v", stageNames(res, later), err)
		}
		for k, i := range later {
			if k < len(all) {
				measured[i] = &all[k]
			}
		}
	}

	byStage := map[[2]string]sizes.Size{}
	for i := range res.Stages {
		st := &res.Stages[i]
		s := measured[i]
		if s == nil {
			continue
		}
		byStage[[2]string{st.Name, st.Platform}] = *s
		st.Size, st.CompressedSize = ptr(s.Uncompressed), ptr(s.Compressed)
		if st.HasRole(result.RoleTarget) && res.Image != nil {
			res.Image.Size, res.Image.CompressedSize = st.Size, st.CompressedSize
		}
	}
	for i := range res.Stages {
		st := &res.Stages[i]
		if base, ok := byStage[[2]string{st.BaseStage, st.Platform}]; ok && st.Size != nil {
			st.BaseDelta = ptr(*st.Size - base.Uncompressed)
		}
	}
}

// stagePlatform is the platform a stage is measured for: the one it was
// built for. A test stage is built for the test platforms, which are the
// builder's own unless chosen.
func stagePlatform(cfg *Config, st *result.Stage) string {
	switch {
	case st.Platform != "":
		return st.Platform
	case st.HasRole(result.RoleTest) && !st.HasRole(result.RoleTarget):
		if len(cfg.TestPlatforms) == 1 {
			return cfg.TestPlatforms[0]
		}
		return ""
	case len(cfg.Platforms) == 1:
		return cfg.Platforms[0]
	}
	return ""
}

// exportSizes exports imgs as one index and sizes its manifests, in order.
func exportSizes(ctx context.Context, job *build.Job, meter *sizes.Meter, imgs []build.StageImage) ([]sizes.Size, error) {
	resp, err := job.ExportStages(ctx, imgs, []client.ExportEntry{{Type: client.ExporterImage, Attrs: map[string]string{}}})
	if err != nil {
		return nil, build.Explain(err)
	}
	return sizesOf(ctx, meter, resp, len(imgs))
}

// sizesOf sizes the n images of the index an exporter responded with.
func sizesOf(ctx context.Context, meter *sizes.Meter, resp map[string]string, n int) ([]sizes.Size, error) {
	desc, err := sizes.Descriptor(resp)
	if err != nil {
		return nil, err
	}
	all, err := meter.Images(ctx, desc, layerWorkers)
	if err != nil {
		return nil, err
	}
	if len(all) != n {
		return nil, fmt.Errorf("the exported index holds %d images for %d stages", len(all), n)
	}
	return all, nil
}

func stageNames(res *result.Result, idx []int) string {
	var names []string
	for _, i := range idx {
		names = append(names, fmt.Sprintf("%q", res.Stages[i].Name))
	}
	return strings.Join(names, ", ")
}
