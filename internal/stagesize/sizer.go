package stagesize

import (
	"context"
	"fmt"

	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/sizes"
)

// layerWorkers is how many layers are read back at once: each read mostly
// waits on the builder's content API.
const layerWorkers = 4

// sizer holds the images measured so far and the history layer counts of
// the stage images, and tells a stage's size from them.
type sizer struct {
	g        *dockerfile.Graph
	meter    *sizes.Meter
	measured map[imageKey]sizes.Image
	history  map[imageKey]int
	// final marks the images measured from the build's own export, whose
	// compressed sizes are those of the image as pushed. The others were
	// exported to be measured, most at gzip's fastest level (indexExport),
	// and may hold blobs another export made: their compressed sizes are
	// not reported.
	final map[imageKey]bool
}

func newSizer(g *dockerfile.Graph, meter *sizes.Meter) *sizer {
	return &sizer{g: g, meter: meter, measured: map[imageKey]sizes.Image{}, history: map[imageKey]int{}, final: map[imageKey]bool{}}
}

// addFinal reads the final image from the build's own export (its exporter
// response resp), for the platform its result row names.
func (z *sizer) addFinal(ctx context.Context, key imageKey, resp map[string]string, platform string) error {
	desc, err := sizes.Descriptor(resp)
	if err != nil {
		return err
	}
	im, err := z.meter.ImageFor(ctx, desc, platform)
	if err != nil {
		return err
	}
	z.measured[key] = im
	z.final[key] = true
	return nil
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
	if s, ok := z.prefixOf(key, h, true); ok {
		return s, true
	}
	return z.prefixOf(key, h, false)
}

// prefixOf is the size of key's image, of h history layers, as the first
// layers of a measured image of a stage built on it: one of the build's own
// export when final, else one exported to be measured.
func (z *sizer) prefixOf(key imageKey, h int, final bool) (sizes.Size, bool) {
	base := z.g.TargetStage(key.target)
	for k, im := range z.measured {
		if z.final[k] != final || k.platform != key.platform || im.ExporterHistory || !builtOn(z.g, z.g.TargetStage(k.target), base) {
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

// compressedIfFinal keeps the compressed size s of a measured image's layers
// only if that image is the build's own export.
func (z *sizer) compressedIfFinal(measured imageKey, s sizes.Size) sizes.Size {
	if !z.final[measured] {
		s.Compressed, s.CompressedKnown = 0, false
	}
	return s
}
