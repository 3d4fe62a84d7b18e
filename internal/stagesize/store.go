package stagesize

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/sizes"
)

// measureInStore sizes the images from BuildKit's content store. The final
// target is measured from the build's own export; the others from the images
// exported beside the build (Plan.Exports), or else by one more export after
// it. Exports are unnamed image indexes, which stay in BuildKit's content
// store and in no image store. A stage that another exported image was built
// on is not exported itself (planExports). Layer sizes already measured by
// an earlier run come from the meter's layer cache.
func measureInStore(ctx context.Context, p Plan, imgs []Image, job *build.Job, meter *sizes.Meter, out *build.Outcome, m *Measurement) {
	z := newSizer(p.Graph, meter)
	keys := p.keys(imgs, m)
	for i, key := range keys {
		if key == nil || imgs[i].Stage != p.Target || out.Response == nil {
			continue
		}
		if err := z.addFinal(ctx, *key, out.Response, imgs[i].Platform); err != nil {
			m.warn("size of stage %q: %v", imgs[i].Stage.Name, err)
			keys[i] = nil
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
	laterErr := z.exportRest(ctx, job, keys, beside)

	var unknown []string
	for i, key := range keys {
		if key == nil {
			continue
		}
		s, ok := z.size(*key)
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%q", imgs[i].Stage.Name))
			continue
		}
		m.Sizes[i] = &Size{Uncompressed: s.Uncompressed, Layers: s.Layers}
		if s.CompressedKnown {
			m.Sizes[i].Compressed = ptr(s.Compressed)
		}
	}
	if len(unknown) > 0 {
		why := errors.Join(besideErr, laterErr)
		if why == nil {
			why = errors.New("BuildKit exported no image for them")
		}
		m.warn("sizes of %s are unknown: %v", strings.Join(unknown, ", "), build.Explain(why))
	}
}

// exportRest exports, in one more export after the build, the images of keys
// whose size is still unknown and that no export beside the build was to
// measure.
func (z *sizer) exportRest(ctx context.Context, job *build.Job, keys []*imageKey, beside map[imageKey]bool) error {
	var later []build.StageImage
	for _, key := range keys {
		if key == nil || beside[*key] {
			continue
		}
		if _, ok := z.size(*key); !ok {
			later = append(later, key.stageImage())
		}
	}
	if len(later) == 0 {
		return nil
	}
	var err error
	for _, e := range job.ExportStages(ctx, planExports(z.g, later, nil), indexExport()) {
		err = errors.Join(err, z.addExport(ctx, e))
	}
	return err
}
