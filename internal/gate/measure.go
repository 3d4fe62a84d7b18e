package gate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	"github.com/stagegate/stagegate/internal/assemble"
	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/sizes"
)

// layerWorkers is how many layers are read back at once: each read mostly
// waits on the builder's content API.
const layerWorkers = 4

// imageKey names a stage's image: the stage's frontend target and the
// platform it was built for.
type imageKey struct{ target, platform string }

func keyOf(img build.StageImage) imageKey { return imageKey{img.Target, img.Platform} }

// stageExports says which stage images are measured beside the build, once
// its targets are solved: every stage those targets reached, for each
// platform it was built for. The final target is measured from the build's
// own export when it has one.
//
// With a content store, they go in one image index, exporting only what
// planExports says, and leaving out the images that share a stage with the
// final image (sharesStageWith): they are exported after the build, so that
// the final image's layers are compressed by its own export first (see
// indexExport). The Docker Engine's classic store takes one image per
// export, each into the engine's store (measureInEngine removes them again).
func stageExports(cfg *Config, g *dockerfile.Graph, plan *dockerfile.Plan, features build.Features) func(solved []string, exported bool) []build.StageExportRequest {
	return func(solved []string, exported bool) []build.StageExportRequest {
		imgs, finals := solvedImages(cfg, g, plan, solved, exported)
		if len(imgs) == 0 && len(finals) == 0 {
			return nil
		}
		if !features.ContentStore {
			var reqs []build.StageExportRequest
			for _, img := range imgs {
				img.Export = true
				reqs = append(reqs, build.StageExportRequest{Images: []build.StageImage{img}, Exports: engineExport()})
			}
			return reqs
		}
		req := build.StageExportRequest{}
		for _, img := range planExports(g, imgs, finals) {
			if !img.Export || !slices.ContainsFunc(finals, func(f build.StageImage) bool { return sharesStageWith(g, img, f) }) {
				req.Images = append(req.Images, img)
			}
		}
		if slices.ContainsFunc(req.Images, func(img build.StageImage) bool { return img.Export }) {
			req.Exports = indexExport()
		}
		return []build.StageExportRequest{req}
	}
}

// sharesStageWith reports whether two images of one platform have a stage in
// common on their FROM chains: their layers then start alike.
func sharesStageWith(g *dockerfile.Graph, a, b build.StageImage) bool {
	if a.Platform != b.Platform {
		return false
	}
	sb := stageOf(g, b.Target)
	for st := stageOf(g, a.Target); ; st = g.Stages[st.BaseStage] {
		if st == sb || builtOn(g, sb, st) {
			return true
		}
		if st.BaseStage < 0 {
			return false
		}
	}
}

// solvedImages are the images of the stages the solved targets reached, by
// the platforms they were built for (as stagePlatform names them for the
// result rows): finals are the final target's when the build exported it,
// imgs the others.
func solvedImages(cfg *Config, g *dockerfile.Graph, plan *dockerfile.Plan, solved []string, exported bool) (imgs, finals []build.StageImage) {
	seen := map[imageKey]bool{}
	add := func(st *dockerfile.Stage, platform string) {
		target, err := frontendTarget(g, st)
		if err != nil {
			return
		}
		img := build.StageImage{Target: target, Platform: platform}
		if seen[keyOf(img)] {
			return
		}
		seen[keyOf(img)] = true
		if exported && st == plan.Target {
			finals = append(finals, img)
			return
		}
		imgs = append(imgs, img)
	}
	for _, name := range solved {
		t := stageOf(g, name)
		if len(cfg.Platforms) <= 1 {
			for _, st := range g.Reach(t) {
				row := assemble.Describe(plan, st)
				add(st, stagePlatform(cfg, &row))
			}
			continue
		}
		// Several platforms: rows are per platform; a test stage is built
		// for the test platforms, the builder's own (as the progress names
		// it) unless chosen.
		ps := cfg.Platforms
		if t != plan.Target {
			ps = cfg.TestPlatforms
			if len(ps) == 0 {
				ps = []string{platforms.DefaultString()}
			}
		}
		for _, st := range g.Reach(t) {
			for _, p := range ps {
				add(st, p)
			}
		}
	}
	return imgs, finals
}

// indexExport exports stage images into BuildKit's content store, unnamed,
// with gzip at its fastest level: compressing every stage's layers at the
// default level was the largest cost of sizing a cold build (see
// docs/benchmarks.md), and the tar sizes come from the gzip trailers either
// way. BuildKit keeps the first blob it makes of a layer and reuses it in
// later exports, so the quick blobs must not come first for the final
// image's layers (stageExports), and must stay valid gzip for the layers a
// cache export or another tool reuses; plain tar layers would be reused as
// they are and pushed uncompressed. Such a stage's compressed size is not
// what a push would hold, and is not reported (sizer.size).
func indexExport() []client.ExportEntry {
	return []client.ExportEntry{{Type: client.ExporterImage, Attrs: map[string]string{
		"compression":       "gzip",
		"compression-level": "1",
	}}}
}

// engineExport exports a stage image into the Docker Engine's image store,
// unnamed.
func engineExport() []client.ExportEntry {
	return []client.ExportEntry{{Type: "moby", Attrs: map[string]string{}}}
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
			if i != j && other.Platform == img.Platform && builtOn(g, stageOf(g, other.Target), stageOf(g, img.Target)) {
				img.Export = false
				break
			}
		}
		out[i] = img
	}
	return out
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

// sizer holds the images measured so far and the history layer counts of
// the stage images, and tells a stage's size from them.
type sizer struct {
	g        *dockerfile.Graph
	meter    *sizes.Meter
	measured map[imageKey]sizes.Image
	history  map[imageKey]int
	// final marks the images measured from the build's own export, whose
	// compressed sizes are those of the image as pushed; the others were
	// compressed quickly to be measured (indexExport).
	final map[imageKey]bool
}

// addExport reads what a stage export exported.
func (z *sizer) addExport(ctx context.Context, e *build.StageExport) error {
	for i, img := range e.Images {
		if i < len(e.HistoryLayers) {
			z.history[keyOf(img)] = e.HistoryLayers[i]
		}
	}
	if e.Err != nil {
		return e.Err
	}
	n := e.Exported()
	if n == 0 {
		return nil
	}
	desc, err := sizes.Descriptor(e.Response)
	if err != nil {
		return err
	}
	all, err := z.meter.Images(ctx, desc, layerWorkers)
	if err != nil {
		return err
	}
	if len(all) != n {
		return fmt.Errorf("the exported index holds %d images for %d stages", len(all), n)
	}
	k := 0
	for _, img := range e.Images {
		if img.Export {
			z.measured[keyOf(img)] = all[k]
			k++
		}
	}
	return nil
}

// size is a stage image's size: measured, or the first layers of an image
// measured of a stage built on it. Which layers are told by the histories:
// the stages in between added as many layers as their history entries that
// made one, which holds when the exporter found every layer of that image in
// its history.
func (z *sizer) size(key imageKey) (sizes.Size, bool) {
	if im, ok := z.measured[key]; ok {
		return z.compressedIfFinal(key, im.Size()), true
	}
	h, ok := z.history[key]
	if !ok || h < 0 {
		return sizes.Size{}, false
	}
	// The final image first: its layers tell the compressed size too.
	keys := slices.SortedFunc(maps.Keys(z.measured), func(a, b imageKey) int {
		return cmp.Or(-cmp.Compare(b2i(z.final[a]), b2i(z.final[b])), cmp.Compare(a.target, b.target), cmp.Compare(a.platform, b.platform))
	})
	base := stageOf(z.g, key.target)
	for _, k := range keys {
		im := z.measured[k]
		if k.platform != key.platform || im.ExporterHistory || !builtOn(z.g, stageOf(z.g, k.target), base) {
			continue
		}
		hk, ok := z.history[k]
		if !ok || hk < h {
			continue
		}
		n := len(im.Layers) - (hk - h)
		if n < 0 || n > len(im.Layers) {
			continue
		}
		return z.compressedIfFinal(k, im.Prefix(n)), true
	}
	return sizes.Size{}, false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// compressedIfFinal keeps the compressed size s of a measured image's layers
// only if that image is the build's own export.
func (z *sizer) compressedIfFinal(measured imageKey, s sizes.Size) sizes.Size {
	if !z.final[measured] {
		s.Compressed, s.CompressedKnown = 0, false
	}
	return s
}

// measureSizes sizes the stages that were built, unless the run stopped or
// its builder is gone: from BuildKit's content store (measure), or from the
// Docker Engine's classic image store (measureInEngine).
func measureSizes(ctx context.Context, cfg *Config, g *dockerfile.Graph, b *build.Builder, features build.Features, job *build.Job, res *result.Result, out *build.Outcome) {
	var gone *build.GoneError
	switch stopped := ctx.Err() != nil || errors.As(out.Err, &gone); {
	case features.ContentStore && !stopped:
		cache := sizes.OpenLayerCache(cfg.LayerCachePath)
		measure(ctx, cfg, g, job, sizes.NewMeter(b.Client.ContentClient(), cache), res, out)
		if err := cache.Save(); err != nil {
			res.Warnings = append(res.Warnings, err.Error())
		}
	case !features.ContentStore && !stopped:
		measureInEngine(ctx, cfg, g, job, b.Driver, res, out)
	case !features.ContentStore:
		discardEngineImages(ctx, b.Driver, engineImagesOf(out))
	}
}

// measure sizes every stage that was built. The final target is measured
// from the build's own export; the others from the images exported beside
// the build (stageExports), or else by one more export after it. Exports are
// unnamed image indexes, which stay in BuildKit's content store and in no
// image store. A stage that another exported image was built on is not
// exported itself (planExports). Layer sizes already measured by an earlier
// run come from the layer cache.
func measure(ctx context.Context, cfg *Config, g *dockerfile.Graph, job *build.Job, meter *sizes.Meter, res *result.Result, out *build.Outcome) {
	z := &sizer{g: g, meter: meter, measured: map[imageKey]sizes.Image{}, history: map[imageKey]int{}, final: map[imageKey]bool{}}
	warn := func(format string, args ...any) {
		res.Warnings = append(res.Warnings, fmt.Sprintf(format, args...))
	}

	// What can be measured: each stage's image, by row.
	keys := builtStageKeys(cfg, g, res)
	for i, key := range keys {
		st := &res.Stages[i]
		if key != nil && st.HasRole(result.RoleTarget) && out.Response != nil {
			desc, err := sizes.Descriptor(out.Response)
			var im sizes.Image
			if err == nil {
				im, err = meter.ImageFor(ctx, desc, st.Platform)
			}
			if err != nil {
				warn("size of stage %q: %v", st.Name, err)
				keys[i] = nil
				continue
			}
			z.measured[*key] = im
			z.final[*key] = true
		}
	}

	// The exports beside the build. When one failed, the stages it was to
	// measure are not exported again: that would fail alike.
	var besideErr error
	beside := map[imageKey]bool{}
	for _, e := range out.StageExports {
		besideErr = errors.Join(besideErr, z.addExport(ctx, e))
		for _, img := range e.Images {
			beside[keyOf(img)] = true
		}
	}

	// The rest, in one more export.
	var later []build.StageImage
	for _, key := range keys {
		if key == nil || beside[*key] {
			continue
		}
		if _, ok := z.size(*key); !ok {
			later = append(later, build.StageImage{Target: key.target, Platform: key.platform})
		}
	}
	var laterErr error
	if len(later) > 0 {
		for _, e := range job.ExportStages(ctx, planExports(g, later, nil), indexExport()) {
			laterErr = errors.Join(laterErr, z.addExport(ctx, e))
		}
	}

	var unknown []string
	uncompressed, compressed := make([]*int64, len(keys)), make([]*int64, len(keys))
	layers := make([]*int, len(keys))
	for i, key := range keys {
		if key == nil {
			continue
		}
		s, ok := z.size(*key)
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%q", res.Stages[i].Name))
			continue
		}
		uncompressed[i], layers[i] = ptr(s.Uncompressed), ptr(s.Layers)
		if s.CompressedKnown {
			compressed[i] = ptr(s.Compressed)
		}
	}
	if len(unknown) > 0 {
		why := errors.Join(besideErr, laterErr)
		if why == nil {
			why = errors.New("BuildKit exported no image for them")
		}
		warn("sizes of %s are unknown: %v", strings.Join(unknown, ", "), build.Explain(why))
	}
	setSizes(res, uncompressed, compressed)
	setLayers(res, layers)
}

// builtStageKeys names, by result row, the image of every stage that was
// built; nil for the others. A stage BuildKit cannot build on its own gets a
// warning instead.
func builtStageKeys(cfg *Config, g *dockerfile.Graph, res *result.Result) []*imageKey {
	keys := make([]*imageKey, len(res.Stages))
	for i := range res.Stages {
		st := &res.Stages[i]
		if st.Status != result.StatusPassed && st.Status != result.StatusCached {
			continue
		}
		target, err := frontendTarget(g, g.Stages[st.Index])
		if err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("size of %s is unknown: BuildKit cannot build an unnamed stage on its own; name it with AS to see its size", st.Name))
			continue
		}
		keys[i] = &imageKey{target, stagePlatform(cfg, st)}
	}
	return keys
}

// setSizes puts the sizes measured, by result row (nil: unknown), into the
// rows and the final image, with each stage's difference from its base stage.
func setSizes(res *result.Result, uncompressed, compressed []*int64) {
	byStage := map[[2]string]int64{}
	for i := range res.Stages {
		st := &res.Stages[i]
		if uncompressed[i] == nil {
			continue
		}
		st.Size, st.CompressedSize = uncompressed[i], compressed[i]
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
