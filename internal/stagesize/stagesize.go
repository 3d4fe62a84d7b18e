// Package stagesize measures the image every built stage of a run would
// produce. Before the build, it says which stage images the build exports
// beside it (Plan.Exports); after it, Measure reads their sizes: from
// BuildKit's content store (package sizes reads the manifests), or from the
// Docker Engine's classic image store, which has none.
package stagesize

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/sizes"
)

// Plan is a run's plan as sizing reads it: the stages, and the platforms
// each is built for.
type Plan struct {
	*dockerfile.Plan
	// Platforms are the final target's platforms; TestPlatforms the test
	// stages' (none: the builder's own).
	Platforms, TestPlatforms []string
}

// Image is a built stage's image to measure.
type Image struct {
	Stage *dockerfile.Stage
	// Platform is the platform it was built for, as the stage's result row
	// names it: "" when the run builds each stage for one platform (the
	// plan says which).
	Platform string
}

// Builder is where the stages were built: the builder, what it can do, and
// the job that built them (to export more stage images after the build).
type Builder struct {
	*build.Builder
	Features build.Features
	Job      *build.Job
}

// Size is a stage image's size.
type Size struct {
	// Uncompressed is the sum of its layers' tar sizes.
	Uncompressed int64
	// Compressed is the sum of its layer blobs as pushed; nil when unknown:
	// only the final image's own export compresses its layers as a push
	// does.
	Compressed *int64
	// Layers is the number of layers.
	Layers int
}

// Measurement is what Measure found.
type Measurement struct {
	// Sizes are the images' sizes, in order; nil where unknown.
	Sizes []*Size
	// Warnings say why sizes are unknown.
	Warnings []string
}

func (m *Measurement) warn(format string, args ...any) {
	m.Warnings = append(m.Warnings, fmt.Sprintf(format, args...))
}

// Measure sizes the images of the stages the job built, unless the run
// stopped or its builder is gone: from BuildKit's content store, or from
// the Docker Engine's classic image store (measureInEngine). out is the
// build's outcome: the final image's export and the stage images exported
// beside the build (Plan.Exports). layerCachePath is the file that
// remembers layers' uncompressed sizes between runs ("": in memory only).
func Measure(ctx context.Context, p Plan, imgs []Image, b Builder, out *build.Outcome, layerCachePath string) Measurement {
	m := Measurement{Sizes: make([]*Size, len(imgs))}
	var gone *build.GoneError
	switch stopped := ctx.Err() != nil || errors.As(out.Err, &gone); {
	case b.Features.ContentStore && !stopped:
		cache := sizes.OpenLayerCache(layerCachePath)
		measureInStore(ctx, p, imgs, b.Job, sizes.NewMeter(b.Client.ContentClient(), cache), out, &m)
		if err := cache.Save(); err != nil {
			m.warn("%v", err)
		}
	case !b.Features.ContentStore && !stopped:
		measureInEngine(ctx, p, imgs, b.Job, b.Driver, out, &m)
	case !b.Features.ContentStore:
		discardEngineImages(ctx, b.Driver, engineImagesOf(out))
	}
	return m
}

// imageKey names a stage's image: the stage's frontend target and the
// platform it was built for.
type imageKey struct{ target, platform string }

func keyOf(img build.StageImage) imageKey { return imageKey{img.Target, img.Platform} }

func (k imageKey) stageImage() build.StageImage {
	return build.StageImage{Target: k.target, Platform: k.platform}
}

// keys names the image of every built stage; nil for a stage BuildKit
// cannot build on its own, which gets a warning instead.
func (p Plan) keys(imgs []Image, m *Measurement) []*imageKey {
	keys := make([]*imageKey, len(imgs))
	for i, img := range imgs {
		target, ok := p.Graph.FrontendTarget(img.Stage)
		if !ok {
			m.warn("size of %s is unknown: BuildKit cannot build an unnamed stage on its own; name it with AS to see its size", img.Stage.Name)
			continue
		}
		keys[i] = &imageKey{target, cmp.Or(img.Platform, p.platform(img.Stage))}
	}
	return keys
}

// platform is the platform a stage is built for when the run builds each
// stage for one platform: a test stage for the test platforms, which are the
// builder's own unless chosen; the others for the final target's.
func (p Plan) platform(st *dockerfile.Stage) string {
	if _, test := p.Test(st); test && st != p.Target {
		if len(p.TestPlatforms) == 1 {
			return p.TestPlatforms[0]
		}
		return ""
	}
	if len(p.Platforms) == 1 {
		return p.Platforms[0]
	}
	return ""
}

// builtOn reports whether st was built on base: base is one of the stages
// st's FROM leads to, one after the other.
func builtOn(g *dockerfile.Graph, st, base *dockerfile.Stage) bool {
	for i := st.BaseStage; i >= 0; i = g.Stages[i].BaseStage {
		if i == base.Index {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }
