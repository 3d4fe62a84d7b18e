package build

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
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

// ExportStages builds the given stage images again (cached by then) and
// exports those with Export as image indexes, whose manifests are those
// images in order: one session and one context walk for them all, and one
// index per batch of images that fits in one gateway return (returnLimit).
//
// An index needs a platform per manifest and may repeat one: two stages
// built for linux/amd64 are two linux/amd64 manifests, told apart by their
// position only. The index is for measuring, never for a registry.
func (s *Job) ExportStages(ctx context.Context, imgs []StageImage, exports []client.ExportEntry) []*StageExport {
	return s.exportStages(ctx, StageExportRequest{Images: imgs, Exports: exports}, func() {})
}

// returnLimit bounds the bytes of the stage images one client.Build returns
// for export. The gateway's return is one gRPC message holding every ref
// with its whole LLB definition, and every image config; BuildKit's client
// and daemon both refuse a message over 16 MiB (containerd's
// DefaultMaxSendMsgSize and DefaultMaxRecvMsgSize; neither buildkitd nor the
// Docker Engine has a setting to raise it), so the images are exported in
// batches that each fit. Half the limit leaves room for what is not counted.
var returnLimit = defaults.DefaultMaxSendMsgSize / 2

// exportStages is ExportStages of r; solved is called once the images were
// solved (or the build ended first). The images are solved in one
// client.Build, which returns the first batch of those to export (see
// batches); each further batch is a client.Build of its own started from
// inside that one, so that it shares its open vertices.
func (s *Job) exportStages(ctx context.Context, r StageExportRequest, solved func()) []*StageExport {
	first := &StageExport{Images: slices.Clone(r.Images)}
	var more *besideExports
	resp, err := s.b.Client.Build(ctx, s.solveOpt(r.Exports), "stagegate", func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		defer solved()
		parts, err := s.solveImages(ctx, c, r.Images)
		first.HistoryLayers = historyLayers(parts)
		if err != nil {
			return nil, err
		}
		bs, err := batches(ctx, c, parts, r.Images, returnLimit)
		if err != nil {
			return nil, err
		}
		if len(bs) == 0 {
			// Nothing to export: the images were solved for their history.
			return gateway.NewResult(), nil
		}
		var reqs []batchRequest
		for _, b := range bs[1:] {
			for _, p := range b {
				first.Images[p.index].Export = false
			}
			reqs = append(reqs, batchRequest{images: b, exports: r.Exports, all: r.Images, history: first.HistoryLayers})
		}
		more = s.startBatches(ctx, reqs)
		return indexResult(bs[0])
	}, nil)
	if err != nil {
		first.Err = fmt.Errorf("export stages: %w", err)
	} else {
		first.Response = resp.ExporterResponse
	}
	return append([]*StageExport{first}, more.wait()...)
}

// solveImages solves the images through the frontend, concurrently. On error
// the history of those solved is still there.
func (s *Job) solveImages(ctx context.Context, c gateway.Client, imgs []StageImage) ([]stageImage, error) {
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
			p.index = i
			if err != nil {
				p.historyLayers = -1
				p.err = fmt.Errorf("stage %q: %w", img.Target, err)
			}
		}()
	}
	wg.Wait()
	for _, p := range parts {
		if p.err != nil {
			return parts, p.err
		}
	}
	return parts, nil
}

// historyLayers is the history layer count of every image.
func historyLayers(parts []stageImage) []int {
	out := make([]int, len(parts))
	for i, p := range parts {
		out[i] = p.historyLayers
	}
	return out
}

// batches splits the images to export into batches whose refs and configs
// fit in limit bytes, in order. When they do not all fit in one, each ref
// is first solved again from its definition without the source map: the
// frontend puts the whole Dockerfile into every definition's source map,
// only to point errors at their lines, and these steps are built already;
// so a ref then weighs its steps, not the file, and a Dockerfile of n
// stages no longer returns n copies of itself.
func batches(ctx context.Context, c gateway.Client, parts []stageImage, imgs []StageImage, limit int) ([][]stageImage, error) {
	var todo []*stageImage
	for i := range parts {
		if imgs[i].Export {
			todo = append(todo, &parts[i])
		}
	}
	if err := readDefinitions(ctx, todo); err != nil {
		return nil, err
	}
	if bs := pack(todo, limit); len(bs) <= 1 {
		return bs, nil
	}
	if err := leanRefs(ctx, c, todo); err != nil {
		return nil, err
	}
	return pack(todo, limit), nil
}

// readDefinitions reads each image's ref's definition (it came with the
// ref), to weigh it.
func readDefinitions(ctx context.Context, parts []*stageImage) error {
	for _, p := range parts {
		if p.ref == nil {
			continue // an empty image (FROM scratch): nothing to send
		}
		def, err := definitionOf(ctx, p.ref)
		if err != nil {
			return fmt.Errorf("read the definition of a stage image: %w", err)
		}
		p.def = def.ToPB()
	}
	return nil
}

// pack splits images, in order, into batches of at most limit bytes each
// (by wireSize); an image bigger than that is a batch of its own.
func pack(imgs []*stageImage, limit int) [][]stageImage {
	var out [][]stageImage
	size := 0
	for _, p := range imgs {
		n := p.wireSize()
		if len(out) == 0 || size+n > limit {
			out = append(out, nil)
			size = 0
		}
		out[len(out)-1] = append(out[len(out)-1], *p)
		size += n
	}
	return out
}

// leanRefs drops the source map from each image's definition and replaces
// its ref with one solved from that (see batches).
func leanRefs(ctx context.Context, c gateway.Client, parts []*stageImage) error {
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(leanWorkers)
	for _, p := range parts {
		if p.def == nil {
			continue
		}
		p.def.Source = nil
		eg.Go(func() (err error) {
			p.ref, err = solveDefinition(ctx, c, p.def)
			return err
		})
	}
	return eg.Wait()
}

// leanWorkers bounds the definitions solved at once: each is a cache hit
// that mostly waits on a round trip to the builder.
const leanWorkers = 8

// solveDefinition solves an image's definition (built already) into a ref.
func solveDefinition(ctx context.Context, c gateway.Client, def *pb.Definition) (gateway.Reference, error) {
	res, err := c.Solve(ctx, gateway.SolveRequest{Definition: def})
	if err != nil {
		return nil, fmt.Errorf("solve a stage image's definition again: %w", err)
	}
	return res.SingleRef()
}

// indexResult puts the images in one result, one ref and one platform entry
// each, in order: the exporter makes an image index of them.
func indexResult(parts []stageImage) (*gateway.Result, error) {
	out := gateway.NewResult()
	var ps exptypes.Platforms
	for _, p := range parts {
		id := fmt.Sprintf("stagegate-%d", p.index)
		out.AddRef(id, p.ref)
		out.AddMeta(exptypes.ExporterImageConfigKey+"/"+id, p.config)
		ps.Platforms = append(ps.Platforms, exptypes.Platform{ID: id, Platform: p.platform})
	}
	dt, err := json.Marshal(ps)
	if err != nil {
		return nil, fmt.Errorf("encode the images' platforms: %w", err)
	}
	out.AddMeta(exptypes.ExporterPlatformsKey, dt)
	return out, nil
}

// batchRequest is one further batch of an export's images.
type batchRequest struct {
	images  []stageImage
	exports []client.ExportEntry
	// all and history are the export's images and their history layer
	// counts, for the StageExport of the batch.
	all     []StageImage
	history []int
}

// startBatches exports further batches beside the calling build, as
// startBeside does, and returns once each solved its images.
func (s *Job) startBatches(ctx context.Context, reqs []batchRequest) *besideExports {
	if len(reqs) == 0 {
		return nil
	}
	return s.beside(len(reqs), func(i int, solved func()) []*StageExport {
		return []*StageExport{s.exportBatch(ctx, reqs[i], solved)}
	})
}

// exportBatch exports one batch: its images' definitions are solved again
// (no frontend this time) and exported as one index.
func (s *Job) exportBatch(ctx context.Context, r batchRequest, solved func()) *StageExport {
	e := &StageExport{}
	for _, p := range r.images {
		e.Images = append(e.Images, r.all[p.index])
		e.HistoryLayers = append(e.HistoryLayers, r.history[p.index])
	}
	resp, err := s.b.Client.Build(ctx, s.solveOpt(r.exports), "stagegate", func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		defer solved()
		parts := slices.Clone(r.images)
		eg, ctx := errgroup.WithContext(ctx)
		eg.SetLimit(leanWorkers)
		for i := range parts {
			if parts[i].def == nil {
				continue
			}
			eg.Go(func() (err error) {
				parts[i].ref, err = solveDefinition(ctx, c, parts[i].def)
				return err
			})
		}
		if err := eg.Wait(); err != nil {
			return nil, err
		}
		return indexResult(parts)
	}, nil)
	if err != nil {
		e.Err = fmt.Errorf("export stages: %w", err)
		return e
	}
	e.Response = resp.ExporterResponse
	return e
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
	exports [][]*StageExport
	wg      sync.WaitGroup
}

func (s *Job) startBeside(ctx context.Context, reqs []StageExportRequest) *besideExports {
	return s.beside(len(reqs), func(i int, solved func()) []*StageExport {
		return s.exportStages(ctx, reqs[i], solved)
	})
}

// beside runs n exports, at most besideWorkers solving at once, and returns
// once each one called solved (or ended).
func (s *Job) beside(n int, export func(i int, solved func()) []*StageExport) *besideExports {
	b := &besideExports{exports: make([][]*StageExport, n)}
	var solved sync.WaitGroup
	sem := make(chan struct{}, besideWorkers)
	for i := range n {
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
			b.exports[i] = export(i, markSolved)
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
	return slices.Concat(b.exports...)
}

// stageImage is a solved stage image.
type stageImage struct {
	// index is the image's position in the export's images.
	index int
	ref   gateway.Reference
	// def is ref's definition, once read to be weighed (batches).
	def           *pb.Definition
	config        []byte
	platform      ocispecs.Platform
	historyLayers int
	err           error
}

// wireSize is about what the image weighs in a gateway return: its ref's
// definition, its config and its platform entry.
func (p *stageImage) wireSize() int {
	const entry = 256 // ids, platform, framing
	n := len(p.config) + entry
	if p.def != nil {
		n += p.def.SizeVT()
	}
	return n
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
