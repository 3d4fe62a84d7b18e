package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// StageImage is one image to export: a stage built for one platform.
type StageImage struct {
	// Target is the stage's frontend target name.
	Target string
	// Platform is the platform it is built for; "" means the builder's own.
	Platform string
}

// ExportStages builds the given stage images again (cached by then) in one
// client.Build and exports them as one image index, whose manifests are the
// images in the order given: one session and one context walk for them all.
//
// An index needs a platform per manifest and may repeat one: two stages
// built for linux/amd64 are two linux/amd64 manifests, told apart by their
// position only. The index is for measuring, never for a registry.
func (s *Job) ExportStages(ctx context.Context, imgs []StageImage, exports []client.ExportEntry) (map[string]string, error) {
	if len(imgs) == 0 {
		return nil, fmt.Errorf("export stages: %w", errNoStages)
	}
	resp, err := s.b.Client.Build(ctx, s.solveOpt(exports), "stagegate", func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		return s.stagesResult(ctx, c, imgs)
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("export stages: %w", err)
	}
	return resp.ExporterResponse, nil
}

// stagesResult solves the images concurrently and puts them in one result,
// one ref and one platform entry each, in order.
func (s *Job) stagesResult(ctx context.Context, c gateway.Client, imgs []StageImage) (*gateway.Result, error) {
	type part struct {
		ref      gateway.Reference
		config   []byte
		platform ocispecs.Platform
		err      error
	}
	parts := make([]part, len(imgs))
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
				p.ref, p.config, p.platform, err = singleImage(res)
			}
			if err != nil {
				p.err = fmt.Errorf("stage %q: %w", img.Target, err)
			}
		}()
	}
	wg.Wait()
	out := gateway.NewResult()
	var ps exptypes.Platforms
	for i, p := range parts {
		if p.err != nil {
			return nil, p.err
		}
		id := fmt.Sprintf("stagegate-%d", i)
		out.AddRef(id, p.ref)
		out.AddMeta(exptypes.ExporterImageConfigKey+"/"+id, p.config)
		ps.Platforms = append(ps.Platforms, exptypes.Platform{ID: id, Platform: p.platform})
	}
	dt, err := json.Marshal(ps)
	if err != nil {
		return nil, err
	}
	out.AddMeta(exptypes.ExporterPlatformsKey, dt)
	return out, nil
}

// StageExport is the export of the stage images a build's StageImages hook
// asked for, made alongside the build.
type StageExport struct {
	// Images are the images exported, in the order of the index's manifests.
	Images []StageImage
	// Response is the exporter's response (the index's descriptor).
	Response map[string]string
	// Err is why the export failed; Images were not exported then.
	Err error
}

// stageExporter runs a second client.Build beside a job's main one. Its
// build function waits until the main build has solved its targets and says
// which stage images to export; it then solves them while the main job is
// still open. BuildKit shares identical vertices between open jobs, so these
// solves reuse the main job's results, context transfer included, instead
// of walking and sending the context again in a new session.
type stageExporter struct {
	images chan []StageImage
	solved chan struct{}
	done   chan struct{}
	export StageExport
}

func (s *Job) startStageExport(ctx context.Context, exports []client.ExportEntry) *stageExporter {
	e := &stageExporter{
		images: make(chan []StageImage, 1),
		solved: make(chan struct{}),
		done:   make(chan struct{}),
	}
	go func() {
		defer close(e.done)
		var solvedOnce sync.Once
		markSolved := func() { solvedOnce.Do(func() { close(e.solved) }) }
		defer markSolved()
		resp, err := s.b.Client.Build(ctx, s.solveOpt(exports), "stagegate", func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
			var imgs []StageImage
			select {
			case imgs = <-e.images:
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
			e.export.Images = imgs
			if len(imgs) == 0 {
				return nil, errNoStages
			}
			defer markSolved()
			return s.stagesResult(ctx, c, imgs)
		}, nil)
		if err != nil {
			e.export.Err = fmt.Errorf("export stages: %w", err)
			return
		}
		e.export.Response = resp.ExporterResponse
	}()
	return e
}

// errNoStages ends a stage export that has nothing to export.
var errNoStages = errors.New("no stage to export")

// request hands the images to export to the exporter's build and waits
// until it has solved them (or gave up), so that the main job is still open
// while it does.
func (e *stageExporter) request(ctx context.Context, imgs []StageImage) {
	e.images <- imgs
	select {
	case <-e.solved:
	case <-e.done:
	case <-ctx.Done():
	}
}

// wait returns the export once it ended.
func (e *stageExporter) wait() *StageExport {
	<-e.done
	if errors.Is(e.export.Err, errNoStages) {
		return &StageExport{}
	}
	return &e.export
}

// singleImage is the one image of a frontend result built for one platform:
// its ref (nil for an empty image), image config and platform.
func singleImage(res *gateway.Result) (gateway.Reference, []byte, ocispecs.Platform, error) {
	ps, err := exptypes.ParsePlatforms(res.Metadata)
	if err != nil {
		return nil, nil, ocispecs.Platform{}, fmt.Errorf("read the result's platforms: %w", err)
	}
	if len(ps.Platforms) != 1 {
		return nil, nil, ocispecs.Platform{}, fmt.Errorf("one image expected, the frontend returned %d platforms", len(ps.Platforms))
	}
	p := ps.Platforms[0]
	ref := res.Ref
	if len(res.Refs) > 0 {
		var ok bool
		if ref, ok = res.Refs[p.ID]; !ok {
			return nil, nil, p.Platform, fmt.Errorf("the frontend returned no image for platform %s", platforms.Format(p.Platform))
		}
	}
	return ref, exptypes.ParseKey(res.Metadata, exptypes.ExporterImageConfigKey, &p), p.Platform, nil
}
