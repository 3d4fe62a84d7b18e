package stagesize

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/stagegate/stagegate/internal/build"
)

// engineExportWorkers is how many stages are exported into the engine at
// once for their sizes.
const engineExportWorkers = 2

// measureInEngine sizes the images on a Docker Engine with the classic image
// store, which has no content store to read manifests from. Each stage (and
// the final image, unless the build exported it under its tags) is exported
// into the engine's image store as an unnamed image, beside the build
// (Plan.Exports) or after it; its size is what the Engine API's image
// inspect says (the engine's own figure, as `docker image ls` shows it), and
// the image is removed again, unless it was there under a name already. The
// classic store keeps no compressed layers: compressed sizes stay unknown.
func measureInEngine(ctx context.Context, p Plan, imgs []Image, job *build.Job, engine build.Driver, out *build.Outcome, m *Measurement) {
	var mu sync.Mutex
	warn := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		m.warn(format, args...)
	}
	beside := engineImagesOf(out)
	keys := p.keys(imgs, m)
	sem := make(chan struct{}, engineExportWorkers)
	var wg sync.WaitGroup
	for i, key := range keys {
		if key == nil {
			continue
		}
		st := imgs[i].Stage
		if id := out.Response[exptypes.ExporterImageConfigDigestKey]; st == p.Target && id != "" {
			// Exported by the build under its tags: measured, and kept.
			inspect, err := engine.InspectImage(ctx, id)
			if err != nil {
				warn("size of stage %q: inspect image %s: %v", st.Name, id, err)
				continue
			}
			m.Sizes[i] = &Size{Uncompressed: inspect.Size, Layers: inspect.Layers}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			mu.Lock()
			id, ok := beside[*key]
			delete(beside, *key)
			mu.Unlock()
			if !ok {
				resp, err := job.ExportStage(ctx, key.stageImage(), engineExport())
				if err != nil {
					warn("size of stage %q: %v", st.Name, build.Explain(err))
					return
				}
				id = resp[exptypes.ExporterImageConfigDigestKey]
			}
			size, n, err := engineImageSize(ctx, engine, id)
			if err != nil {
				warn("size of stage %q: %v", st.Name, err)
				return
			}
			m.Sizes[i] = &Size{Uncompressed: size, Layers: n}
		}()
	}
	wg.Wait()
	discardEngineImages(ctx, engine, beside)
}

// engineImageSize reads the size and layer count of an image exported
// unnamed into the engine's store, and removes it again (unless it was there
// under a name).
func engineImageSize(ctx context.Context, engine build.Driver, id string) (int64, int, error) {
	if id == "" {
		return 0, 0, fmt.Errorf("the engine's exporter named no image")
	}
	inspect, err := engine.InspectImage(ctx, id)
	if err != nil {
		return 0, 0, fmt.Errorf("inspect image %s: %w", id, err)
	}
	if len(inspect.RepoTags) == 0 {
		if err := engine.RemoveImage(ctx, id); err != nil && !errdefs.IsNotFound(err) {
			return 0, 0, fmt.Errorf("remove the stage's image %s again: %w", id, err)
		}
	}
	return inspect.Size, inspect.Layers, nil
}

// discardEngineImages removes images exported beside the build into the
// engine that were not measured (a stage row not built, or a run that
// stopped first), so that none is left behind. Best effort: it runs also
// after the run was cancelled, for a few seconds at most.
func discardEngineImages(ctx context.Context, engine build.Driver, ids map[imageKey]string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, id := range ids {
		if id == "" {
			continue
		}
		if inspect, err := engine.InspectImage(ctx, id); err == nil && len(inspect.RepoTags) == 0 {
			_ = engine.RemoveImage(ctx, id)
		}
	}
}

// engineImagesOf are the images the exports beside the build put into the
// engine's store, by stage image.
func engineImagesOf(out *build.Outcome) map[imageKey]string {
	ids := map[imageKey]string{}
	for _, e := range out.StageExports {
		if e.Err == nil && len(e.Images) == 1 {
			ids[keyOf(e.Images[0])] = e.Response[exptypes.ExporterImageConfigDigestKey]
		}
	}
	return ids
}
