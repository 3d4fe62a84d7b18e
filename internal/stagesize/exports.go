package stagesize

import (
	"slices"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/dockerfile"
)

// Exports says which stage images the build exports beside it, once its
// targets are solved: every stage those targets reach, for each platform it
// is built for. The final target is measured from the build's own export
// when it has one.
//
// With a content store, they go in one image index: an image of a stage
// that another image there was built on is solved only for its history
// (its layers are that image's first layers: CoveredBy), and the images
// that share a stage with the final image go in an index of their own,
// compressed as the final image is (see indexExport). The Docker Engine's classic store
// takes one image per export, each into the engine's store
// (measureInEngine removes them again).
func (p Plan) Exports(f build.Features) *build.StageExportPlan {
	ep := &build.StageExportPlan{Targets: map[string][]int{}}
	index := map[imageKey]int{}
	for _, t := range append(p.TestStages(), p.Target) {
		name, ok := p.Graph.FrontendTarget(t)
		if _, done := ep.Targets[name]; !ok || done {
			continue
		}
		ep.Targets[name] = []int{}
		for _, img := range p.reached(t) {
			i, ok := index[keyOf(img.StageImage)]
			if !ok {
				i = len(ep.Images)
				index[keyOf(img.StageImage)] = i
				ep.Images = append(ep.Images, img)
			}
			if !slices.Contains(ep.Targets[name], i) {
				ep.Targets[name] = append(ep.Targets[name], i)
			}
		}
	}
	if !f.ContentStore {
		ep.Exports, ep.OnePerExport = engineExport(), true
		return ep
	}
	ep.Exports, ep.SharedExports = indexExport(), sharedExport()
	for i := range ep.Images {
		img := &ep.Images[i]
		for j, other := range ep.Images {
			if i == j || other.Platform != img.Platform {
				continue
			}
			if builtOn(p.Graph, p.Graph.TargetStage(other.Target), p.Graph.TargetStage(img.Target)) {
				img.CoveredBy = append(img.CoveredBy, j)
			}
			if other.Final && sharesStage(p.Graph, p.Graph.TargetStage(img.Target), p.Graph.TargetStage(other.Target)) {
				img.SharesStageWith = append(img.SharesStageWith, j)
			}
		}
	}
	return ep
}

// reached are the images of the stages solving target t builds, by the
// platforms they are built for (as Plan.platform names them for a run of
// one platform), in Dockerfile order.
func (p Plan) reached(t *dockerfile.Stage) []build.PlannedStageImage {
	var out []build.PlannedStageImage
	add := func(st *dockerfile.Stage, platform string) {
		if target, ok := p.Graph.FrontendTarget(st); ok {
			out = append(out, build.PlannedStageImage{
				StageImage: build.StageImage{Target: target, Platform: platform},
				Final:      st == p.Target,
			})
		}
	}
	if len(p.Platforms) <= 1 {
		for _, st := range p.Graph.Reach(t) {
			add(st, p.platform(st))
		}
		return out
	}
	// Several platforms: a test stage is built for the test platforms, the
	// builder's own (as the progress names it) unless chosen.
	ps := p.Platforms
	if t != p.Target {
		ps = p.TestPlatforms
		if len(ps) == 0 {
			ps = []string{platforms.DefaultString()}
		}
	}
	for _, st := range p.Graph.Reach(t) {
		for _, pl := range ps {
			add(st, pl)
		}
	}
	return out
}

// sharesStage reports whether two stages have a stage in common on their
// FROM chains: their images' layers then start alike.
func sharesStage(g *dockerfile.Graph, a, b *dockerfile.Stage) bool {
	for st := a; ; st = g.Stages[st.BaseStage] {
		if st == b || builtOn(g, b, st) {
			return true
		}
		if st.BaseStage < 0 {
			return false
		}
	}
}

// planExports marks which images to export. An image of a stage that another
// image (the finals included) was built on, FROM after FROM, for the same
// platform, is not exported: its layers are the first layers of that image.
// finals are exported by the build itself; they are added to the images, not
// to be exported, so that their history is read.
func planExports(g *dockerfile.Graph, imgs, finals []build.StageImage) []build.StageImage {
	all := append(slices.Clip(imgs), finals...)
	out := make([]build.StageImage, len(all))
	for i, img := range all {
		img.Export = i < len(imgs)
		for j, other := range all {
			if i != j && other.Platform == img.Platform && builtOn(g, g.TargetStage(other.Target), g.TargetStage(img.Target)) {
				img.Export = false
				break
			}
		}
		out[i] = img
	}
	return out
}

// indexExport exports stage images into BuildKit's content store, unnamed,
// with gzip at its fastest level: compressing every stage's layers at the
// default level was the largest cost of sizing a cold build (see
// docs/benchmarks.md), and the tar sizes come from the gzip trailers either
// way. BuildKit keeps the first blob it makes of a layer and reuses it in
// later exports, so the quick blobs must never be made of the final image's
// layers (sharedExport), and must stay valid gzip for the layers a cache
// export or another tool reuses; plain tar layers would be reused as they
// are and pushed uncompressed. Such a stage's compressed size is not what a
// push would hold, and is not reported (sizer.size).
func indexExport() []client.ExportEntry {
	return []client.ExportEntry{{Type: client.ExporterImage, Attrs: map[string]string{
		"compression":       "gzip",
		"compression-level": "1",
	}}}
}

// sharedExport exports the stage images that share layers with the final
// image as the final image's export compresses them (gzip at its default
// level): it runs beside that export, and either may make the blob of a
// layer they share, which BuildKit then reuses.
func sharedExport() []client.ExportEntry {
	return []client.ExportEntry{{Type: client.ExporterImage, Attrs: map[string]string{}}}
}

// engineExport exports a stage image into the Docker Engine's image store,
// unnamed.
func engineExport() []client.ExportEntry {
	return []client.ExportEntry{{Type: "moby", Attrs: map[string]string{}}}
}
