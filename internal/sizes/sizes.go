// Package sizes measures the image a stage would produce: the layers' tar
// sizes (what `docker image ls` shows) and their compressed sizes (what a
// registry holds). BuildKit reports neither, so the image is exported into
// BuildKit's content store and its manifest read back. A layer stored as a
// plain tar is its own tar size; a gzip layer's tar size comes from its gzip
// trailer, or from decompressing it when the trailer cannot be trusted.
package sizes

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	contentapi "github.com/containerd/containerd/api/services/content/v1"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/content/proxy"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/archive/compression"
	"github.com/containerd/platforms"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// readBufferSize is the size of reads from the content store.
const readBufferSize = 1 << 20

// Size is an image's weight.
type Size struct {
	// Uncompressed is the sum of the layers' tar sizes.
	Uncompressed int64
	// Compressed is the sum of the layer blobs as stored (and pushed). It
	// is known (CompressedKnown) only when every layer is stored
	// compressed: a layer exported as a plain tar, to spare a compression
	// the build does not otherwise do, says nothing of its compressed size.
	Compressed      int64
	CompressedKnown bool
	// Layers is the number of layers.
	Layers int
}

// Meter reads images from a content store. It remembers each layer's
// uncompressed size, so layers shared by several stages are read once.
type Meter struct {
	store content.Provider

	mu           sync.Mutex
	uncompressed map[digest.Digest]int64
}

// NewMeter reads through BuildKit's content API. cache (may be nil) holds
// the uncompressed sizes of layers measured before; new ones are added.
func NewMeter(cc contentapi.ContentClient, cache *LayerCache) *Meter {
	return NewMeterFromProvider(proxy.NewContentStore(cc), cache)
}

// NewMeterFromProvider reads from any content provider.
func NewMeterFromProvider(p content.Provider, cache *LayerCache) *Meter {
	if cache == nil {
		cache = OpenLayerCache("")
	}
	return &Meter{store: p, uncompressed: cache.sizes}
}

// Descriptor returns the image descriptor an image exporter responded with.
func Descriptor(resp map[string]string) (ocispecs.Descriptor, error) {
	var desc ocispecs.Descriptor
	raw, ok := resp[exptypes.ExporterImageDescriptorKey]
	if !ok {
		return desc, fmt.Errorf("the exporter's response has no %s", exptypes.ExporterImageDescriptorKey)
	}
	dt, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return desc, fmt.Errorf("decode image descriptor: %w", err)
	}
	if err := json.Unmarshal(dt, &desc); err != nil {
		return desc, fmt.Errorf("decode image descriptor: %w", err)
	}
	return desc, nil
}

// Layer is one layer's weight.
type Layer struct {
	// Compressed is the blob's size; Uncompressed its tar's.
	Compressed, Uncompressed int64
	// Tar is set when the blob is the tar itself, stored uncompressed: its
	// Compressed is then not a compressed size.
	Tar bool
}

// Image is an image's layers, bottom first, and what its config's history
// says of them.
type Image struct {
	Layers []Layer
	// ExporterHistory is set when the exporter wrote history entries of its
	// own: the build's history did not account for every layer.
	ExporterHistory bool
}

// Size is the weight of the whole image.
func (im Image) Size() Size {
	return im.Prefix(len(im.Layers))
}

// Prefix is the weight of the image's first n layers: the image of a stage
// that this image was built on.
func (im Image) Prefix(n int) Size {
	s := Size{Layers: n, CompressedKnown: true}
	for _, l := range im.Layers[:n] {
		s.Compressed += l.Compressed
		s.Uncompressed += l.Uncompressed
		s.CompressedKnown = s.CompressedKnown && !l.Tar
	}
	if !s.CompressedKnown {
		s.Compressed = 0
	}
	return s
}

// exporterHistoryComment marks the history entries BuildKit's image exporter
// adds for layers the image config's history did not account for.
const exporterHistoryComment = "buildkit.exporter.image.v0"

// ImageFor measures the image desc points at: a manifest, or, in an index,
// the image manifest (attestations aside) for platform ("os/arch[/variant]";
// "" takes the first).
func (m *Meter) ImageFor(ctx context.Context, desc ocispecs.Descriptor, platform string) (Image, error) {
	if images.IsIndexType(desc.MediaType) {
		var idx ocispecs.Index
		if err := m.readJSON(ctx, desc, &idx); err != nil {
			return Image{}, err
		}
		for _, d := range idx.Manifests {
			if isAttestation(d) {
				continue
			}
			if platform != "" && (d.Platform == nil || platforms.FormatAll(*d.Platform) != platform) {
				continue
			}
			return m.ImageFor(ctx, d, "")
		}
		return Image{}, fmt.Errorf("index %s holds no image manifest for %q", desc.Digest, platform)
	}
	all, err := m.measure(ctx, []ocispecs.Descriptor{desc}, 1)
	if err != nil {
		return Image{}, err
	}
	return all[0], nil
}

// Images measures every image manifest of an index (attestations aside), in
// the index's order.
func (m *Meter) Images(ctx context.Context, desc ocispecs.Descriptor, workers int) ([]Image, error) {
	if !images.IsIndexType(desc.MediaType) {
		return m.measure(ctx, []ocispecs.Descriptor{desc}, workers)
	}
	var idx ocispecs.Index
	if err := m.readJSON(ctx, desc, &idx); err != nil {
		return nil, err
	}
	var manifests []ocispecs.Descriptor
	for _, d := range idx.Manifests {
		if !isAttestation(d) {
			manifests = append(manifests, d)
		}
	}
	return m.measure(ctx, manifests, workers)
}

// isAttestation reports whether an index entry is BuildKit's attestation
// manifest for an image rather than an image.
func isAttestation(d ocispecs.Descriptor) bool {
	return d.Annotations["vnd.docker.reference.type"] == "attestation-manifest"
}

// measure reads image manifests and their configs, and sizes their layers:
// each distinct layer once, up to workers at a time.
func (m *Meter) measure(ctx context.Context, manifests []ocispecs.Descriptor, workers int) ([]Image, error) {
	mfs := make([]ocispecs.Manifest, len(manifests))
	imgs := make([]Image, len(manifests))
	var layers []ocispecs.Descriptor
	seen := map[digest.Digest]bool{}
	for i, d := range manifests {
		if err := m.readJSON(ctx, d, &mfs[i]); err != nil {
			return nil, err
		}
		var config ocispecs.Image
		if err := m.readJSON(ctx, mfs[i].Config, &config); err != nil {
			return nil, err
		}
		for _, h := range config.History {
			if h.Comment == exporterHistoryComment {
				imgs[i].ExporterHistory = true
			}
		}
		for _, l := range mfs[i].Layers {
			if !seen[l.Digest] {
				seen[l.Digest] = true
				layers = append(layers, l)
			}
		}
	}
	uncompressed := make(map[digest.Digest]int64, len(layers))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 1))
	for _, l := range layers {
		g.Go(func() error {
			n, err := m.layer(gctx, l)
			mu.Lock()
			uncompressed[l.Digest] = n
			mu.Unlock()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, mf := range mfs {
		for _, l := range mf.Layers {
			imgs[i].Layers = append(imgs[i].Layers, Layer{Compressed: l.Size, Uncompressed: uncompressed[l.Digest], Tar: isTar(l)})
		}
	}
	return imgs, nil
}

func (m *Meter) readJSON(ctx context.Context, desc ocispecs.Descriptor, v any) error {
	dt, err := content.ReadBlob(ctx, m.store, desc)
	if err != nil {
		return fmt.Errorf("read %s %s: %w", desc.MediaType, desc.Digest, err)
	}
	if err := json.Unmarshal(dt, v); err != nil {
		return fmt.Errorf("decode %s %s: %w", desc.MediaType, desc.Digest, err)
	}
	return nil
}

// isTar reports whether a layer blob is a plain tar, not compressed.
func isTar(desc ocispecs.Descriptor) bool {
	switch desc.MediaType {
	case ocispecs.MediaTypeImageLayer, ocispecs.MediaTypeImageLayerNonDistributable,
		images.MediaTypeDockerSchema2Layer, images.MediaTypeDockerSchema2LayerForeign:
		return true
	}
	return false
}

// layer returns a layer's uncompressed size, measured once per digest. A
// plain tar is its own size, and is not read.
func (m *Meter) layer(ctx context.Context, desc ocispecs.Descriptor) (int64, error) {
	if isTar(desc) {
		return desc.Size, nil
	}
	m.mu.Lock()
	n, ok := m.uncompressed[desc.Digest]
	m.mu.Unlock()
	if ok {
		return n, nil
	}
	ra, err := m.store.ReaderAt(ctx, desc)
	if err != nil {
		return 0, fmt.Errorf("open layer %s: %w", desc.Digest, err)
	}
	defer ra.Close()
	n, ok = gzipTrailerSize(ra, desc)
	if !ok {
		if n, err = decompressedSize(ra, desc); err != nil {
			return 0, err
		}
	}
	m.mu.Lock()
	m.uncompressed[desc.Digest] = n
	m.mu.Unlock()
	return n, nil
}

// trailerMaxBlob is the largest gzip layer whose size is read from its
// trailer. The trailer holds the size modulo 4 GiB, so a larger blob could
// hide a tar of 4 GiB or more; that would take a ratio above 16:1 here.
const trailerMaxBlob = 256 << 20

// gzipTrailerSize reads a gzip layer's uncompressed size from the ISIZE field
// of its trailer (RFC 1952: the last four bytes, little-endian, the size
// modulo 2^32) instead of decompressing it: BuildKit, Docker and containerd
// write layers as one gzip member, whose trailer counts the whole stream.
// ok is false when the blob is not gzip, too large to be sure, or when the
// trailer cannot be right (less than the blob itself: deflate expands
// incompressible data by a few bytes per 64 KiB at most).
func gzipTrailerSize(ra content.ReaderAt, desc ocispecs.Descriptor) (int64, bool) {
	if !strings.Contains(desc.MediaType, "gzip") || desc.Size < 20 || desc.Size > trailerMaxBlob {
		return 0, false
	}
	var head, tail [4]byte
	if _, err := ra.ReadAt(head[:2], 0); err != nil || head[0] != 0x1f || head[1] != 0x8b {
		return 0, false
	}
	if _, err := ra.ReadAt(tail[:], desc.Size-4); err != nil {
		return 0, false
	}
	n := int64(binary.LittleEndian.Uint32(tail[:]))
	if n < desc.Size-desc.Size/1000-64 {
		return 0, false
	}
	return n, true
}

// decompressedSize reads a layer through and counts its uncompressed bytes.
func decompressedSize(ra content.ReaderAt, desc ocispecs.Descriptor) (int64, error) {
	// Large reads: each ReadAt is a round trip to BuildKit's content API, and
	// gzip's own small reads would make thousands of them (~36 MB/s at 32 kB reads
	// against ~340 MB/s at 4 MiB, measured in internal/bench).
	r, err := compression.DecompressStream(bufio.NewReaderSize(content.NewReader(ra), readBufferSize))
	if err != nil {
		return 0, fmt.Errorf("decompress layer %s: %w", desc.Digest, err)
	}
	defer r.Close()
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return 0, fmt.Errorf("read layer %s: %w", desc.Digest, err)
	}
	return n, nil
}
