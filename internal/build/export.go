package build

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// StageImage is one image of a stage: the stage built for one platform.
type StageImage struct {
	// Target is the stage's frontend target name.
	Target string
	// Platform is the platform it is built for; "" means the builder's own.
	Platform string
	// Export asks for the image to be exported. An image that is not is
	// only solved, to read its config's history: the image of a stage that
	// an exported image was built on is a prefix of that image's layers.
	Export bool
}

// StageExport is what a stage export made of its images.
type StageExport struct {
	// Images are the images asked for, in order.
	Images []StageImage
	// HistoryLayers holds, for each image, how many entries of the history
	// in the image config the frontend gave it made a layer; -1 when the
	// frontend gave no config.
	HistoryLayers []int
	// Response is the exporter's response. Its image index holds the
	// images with Export, in order.
	Response map[string]string
	// Err is why the export failed.
	Err error
}

// Exported is how many of the images were exported.
func (e *StageExport) Exported() int {
	n := 0
	for _, img := range e.Images {
		if img.Export {
			n++
		}
	}
	return n
}

// ExportStage builds one stage image again (cached by then), exports it
// with exports and returns the exporter's response.
func (s *Job) ExportStage(ctx context.Context, img StageImage, exports []client.ExportEntry) (map[string]string, error) {
	var pl []string
	if img.Platform != "" {
		pl = []string{img.Platform}
	}
	resp, err := s.b.Client.Build(ctx, s.solveOpt(exports), "stagegate", func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		return s.solve(ctx, c, img.Target, pl)
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("export stage %q: %w", img.Target, err)
	}
	return resp.ExporterResponse, nil
}

// ExportStages builds the given stage images again (cached by then) in one
// client.Build and exports those with Export as one image index, whose
// manifests are those images in order: one session and one context walk for
// them all.
//
// An index needs a platform per manifest and may repeat one: two stages
// built for linux/amd64 are two linux/amd64 manifests, told apart by their
// position only. The index is for measuring, never for a registry.
func (s *Job) ExportStages(ctx context.Context, imgs []StageImage, exports []client.ExportEntry) *StageExport {
	return s.exportStages(ctx, StageExportRequest{Images: imgs, Exports: exports}, func() {})
}

// exportStages is ExportStages of r; solved is called once the images were
// solved (or the build ended first).
func (s *Job) exportStages(ctx context.Context, r StageExportRequest, solved func()) *StageExport {
	e := &StageExport{Images: r.Images}
	resp, err := s.b.Client.Build(ctx, s.solveOpt(r.Exports), "stagegate", func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		defer solved()
		res, history, err := s.stagesResult(ctx, c, r.Images)
		e.HistoryLayers = history
		return res, err
	}, nil)
	if err != nil {
		e.Err = fmt.Errorf("export stages: %w", err)
		return e
	}
	e.Response = resp.ExporterResponse
	return e
}

// stagesResult solves the images concurrently and puts those to export in
// one result, one ref and one platform entry each, in order. It returns the
// history layer count of every image.
func (s *Job) stagesResult(ctx context.Context, c gateway.Client, imgs []StageImage) (*gateway.Result, []int, error) {
	parts := make([]stageImage, len(imgs))
	var wg sync.WaitGroup
	for i, img := range imgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var pl []string
			if img.Platform != "" {
				pl = []string{img.Platform}
			}
			p := &parts[i]
			res, err := s.solve(ctx, c, img.Target, pl)
			if err == nil {
				*p, err = singleImage(res)
			}
			if err != nil {
				p.err = fmt.Errorf("stage %q: %w", img.Target, err)
			}
		}()
	}
	wg.Wait()
	history := make([]int, len(imgs))
	out := gateway.NewResult()
	var ps exptypes.Platforms
	for i, p := range parts {
		if p.err != nil {
			return nil, history, p.err
		}
		history[i] = p.historyLayers
		if !imgs[i].Export {
			continue
		}
		id := fmt.Sprintf("stagegate-%d", i)
		out.AddRef(id, p.ref)
		out.AddMeta(exptypes.ExporterImageConfigKey+"/"+id, p.config)
		ps.Platforms = append(ps.Platforms, exptypes.Platform{ID: id, Platform: p.platform})
	}
	if len(ps.Platforms) == 0 {
		// Nothing to export: the images were solved for their history.
		return out, history, nil
	}
	dt, err := json.Marshal(ps)
	if err != nil {
		return nil, history, err
	}
	out.AddMeta(exptypes.ExporterPlatformsKey, dt)
	return out, history, nil
}

// StageExportRequest is one export of stage images beside a build.
type StageExportRequest struct {
	// Images are solved, and those with Export exported, as ExportStages
	// does.
	Images []StageImage
	// Exports receive the images with Export.
	Exports []client.ExportEntry
}

// besideWorkers bounds how many exports beside a build solve at once.
const besideWorkers = 4

// besideExports are client.Builds made beside a job's main one, from inside
// its build function: they solve their stage images while the main job is
// still open. BuildKit shares identical vertices between open jobs, so these
// solves reuse the main job's results, context transfer included, instead of
// walking and sending the context again in new sessions. startBeside returns
// once every one of them has solved its images (or ended); their exports go
// on, and wait returns them when they end.
type besideExports struct {
	exports []*StageExport
	wg      sync.WaitGroup
}

func (s *Job) startBeside(ctx context.Context, reqs []StageExportRequest) *besideExports {
	b := &besideExports{exports: make([]*StageExport, len(reqs))}
	var solved sync.WaitGroup
	sem := make(chan struct{}, besideWorkers)
	for i, r := range reqs {
		solved.Add(1)
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			var once sync.Once
			markSolved := func() {
				once.Do(func() {
					<-sem
					solved.Done()
				})
			}
			sem <- struct{}{}
			defer markSolved()
			b.exports[i] = s.exportStages(ctx, r, markSolved)
		}()
	}
	solved.Wait()
	return b
}

// wait returns the exports once they all ended.
func (b *besideExports) wait() []*StageExport {
	if b == nil {
		return nil
	}
	b.wg.Wait()
	return b.exports
}

// stageImage is a solved stage image.
type stageImage struct {
	ref           gateway.Reference
	config        []byte
	platform      ocispecs.Platform
	historyLayers int
	err           error
}

// singleImage is the one image of a frontend result built for one platform:
// its ref (nil for an empty image), its image config and platform, and how
// many layers the config's history accounts for.
func singleImage(res *gateway.Result) (stageImage, error) {
	ps, err := exptypes.ParsePlatforms(res.Metadata)
	if err != nil {
		return stageImage{}, fmt.Errorf("read the result's platforms: %w", err)
	}
	if len(ps.Platforms) != 1 {
		return stageImage{}, fmt.Errorf("one image expected, the frontend returned %d platforms", len(ps.Platforms))
	}
	p := ps.Platforms[0]
	img := stageImage{ref: res.Ref, platform: p.Platform, historyLayers: -1}
	if len(res.Refs) > 0 {
		var ok bool
		if img.ref, ok = res.Refs[p.ID]; !ok {
			return stageImage{}, fmt.Errorf("the frontend returned no image for platform %s", platforms.Format(p.Platform))
		}
	}
	img.config = exptypes.ParseKey(res.Metadata, exptypes.ExporterImageConfigKey, &p)
	if len(img.config) > 0 {
		var config ocispecs.Image
		if err := json.Unmarshal(img.config, &config); err != nil {
			return stageImage{}, fmt.Errorf("read the image config: %w", err)
		}
		img.historyLayers = 0
		for _, h := range config.History {
			if !h.EmptyLayer {
				img.historyLayers++
			}
		}
	}
	return img, nil
}
