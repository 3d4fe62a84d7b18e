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

// StageImage is one image to export: a stage built for one platform.
type StageImage struct {
	// Target is the stage's frontend target name.
	Target string
	// Platform is the platform it is built for; "" means the builder's own.
	Platform string
}

// ExportStage builds one stage again (it is cached by then) and exports it.
// It returns the exporter response.
func (s *Job) ExportStage(ctx context.Context, stage string, platforms []string, exports []client.ExportEntry) (map[string]string, error) {
	resp, err := s.b.Client.Build(ctx, s.solveOpt(exports), "stagegate", func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		return s.solve(ctx, c, stage, platforms)
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("export stage %q: %w", stage, err)
	}
	return resp.ExporterResponse, nil
}

// ExportStages builds the given stage images again (cached by then) in one
// client.Build and exports them as one image index, whose manifests are the
// images in the order given. Compared with one ExportStage per image, the
// context is walked once and the builder holds one session, not one each.
//
// An index needs a platform per manifest and may repeat one: two stages
// built for linux/amd64 are two linux/amd64 manifests, told apart by their
// position only. The index is for measuring, never for a registry.
func (s *Job) ExportStages(ctx context.Context, imgs []StageImage, exports []client.ExportEntry) (map[string]string, error) {
	if len(imgs) == 0 {
		return nil, fmt.Errorf("export stages: no stage to export")
	}
	resp, err := s.b.Client.Build(ctx, s.solveOpt(exports), "stagegate", func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
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
				res, err := s.solve(ctx, c, img.Target, pl)
				if err != nil {
					parts[i].err = fmt.Errorf("stage %q: %w", img.Target, err)
					return
				}
				p := &parts[i]
				p.ref, p.config, p.platform, p.err = singleImage(res)
				if p.err != nil {
					p.err = fmt.Errorf("stage %q: %w", img.Target, p.err)
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
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("export stages: %w", err)
	}
	return resp.ExporterResponse, nil
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
