package gate

import (
	"context"
	"fmt"
	"sync"

	"github.com/moby/buildkit/client"
	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/sizes"
)

// exportWorkers is how many stages are exported for sizing at once: each
// export is a client.Build that mostly waits on the builder.
const exportWorkers = 4

// measure sizes every stage that was built: the final target from the
// build's own export, the others by exporting them again (cached) as unnamed
// images, which stay in BuildKit's content store and in no image store.
// Layer sizes already measured by an earlier run come from the layer cache.
func measure(ctx context.Context, cfg *Config, g *dockerfile.Graph, b *build.Builder, job *build.Job, res *result.Result, out *build.Outcome) {
	cache := sizes.OpenLayerCache(cfg.LayerCachePath)
	meter := sizes.NewMeter(b.Client.ContentClient(), cache)
	type sized struct {
		size sizes.Size
		err  error
	}
	results := make([]sized, len(res.Stages))
	todo := make([]bool, len(res.Stages))
	var warnMu sync.Mutex
	warn := func(format string, args ...any) {
		warnMu.Lock()
		defer warnMu.Unlock()
		res.Warnings = append(res.Warnings, fmt.Sprintf(format, args...))
	}
	sem := make(chan struct{}, exportWorkers)
	var wg sync.WaitGroup
	for i := range res.Stages {
		st := &res.Stages[i]
		if st.Status != result.StatusPassed && st.Status != result.StatusCached {
			continue
		}
		resp := out.Response
		export := !st.HasRole(result.RoleTarget) || resp == nil
		var target string
		if export {
			var err error
			if target, err = frontendTarget(g, g.Stages[st.Index]); err != nil {
				warn("size of %s is unknown: BuildKit cannot build an unnamed stage on its own; name it with AS to see its size", st.Name)
				continue
			}
		}
		todo[i] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if export {
				// A stage is measured for the platform it was built for.
				platforms := cfg.Platforms
				if st.Platform != "" {
					platforms = []string{st.Platform}
				} else if st.HasRole(result.RoleTest) && !st.HasRole(result.RoleTarget) {
					platforms = nil
				}
				var err error
				resp, err = job.ExportStage(ctx, target, platforms, []client.ExportEntry{{Type: client.ExporterImage, Attrs: map[string]string{}}})
				if err != nil {
					results[i].err = build.Explain(err)
					return
				}
			}
			desc, err := sizes.Descriptor(resp)
			if err != nil {
				results[i].err = err
				return
			}
			results[i].size, results[i].err = meter.ImageFor(ctx, desc, st.Platform)
		}()
	}
	wg.Wait()
	byStage := map[[2]string]sizes.Size{}
	for i := range res.Stages {
		st := &res.Stages[i]
		if !todo[i] {
			continue
		}
		if err := results[i].err; err != nil {
			warn("size of stage %q: %v", st.Name, err)
			continue
		}
		s := results[i].size
		byStage[[2]string{st.Name, st.Platform}] = s
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
	if err := cache.Save(); err != nil {
		warn("%v", err)
	}
}
