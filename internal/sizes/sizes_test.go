package sizes

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// memStore is a content.Provider over blobs in memory.
type memStore map[digest.Digest][]byte

func (s memStore) add(mediaType string, b []byte) ocispecs.Descriptor {
	d := digest.FromBytes(b)
	s[d] = b
	return ocispecs.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b))}
}

func (s memStore) ReaderAt(_ context.Context, desc ocispecs.Descriptor) (content.ReaderAt, error) {
	b, ok := s[desc.Digest]
	if !ok {
		return nil, errors.New("not found")
	}
	return readerAt{bytes.NewReader(b)}, nil
}

type readerAt struct{ *bytes.Reader }

func (readerAt) Close() error { return nil }

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLayerSize(t *testing.T) {
	random := make([]byte, 300_000)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	text := bytes.Repeat([]byte("stagegate layer\n"), 100_000)
	tests := []struct {
		name      string
		mediaType string
		blob      []byte
		want      int64
	}{
		{"gzip, compressible", ocispecs.MediaTypeImageLayerGzip, gzipped(t, text), int64(len(text))},
		{"gzip, incompressible", ocispecs.MediaTypeImageLayerGzip, gzipped(t, random), int64(len(random))},
		{"docker gzip", "application/vnd.docker.image.rootfs.diff.tar.gzip", gzipped(t, text[:1000]), 1000},
		{"empty gzip", ocispecs.MediaTypeImageLayerGzip, gzipped(t, nil), 0},
		{"uncompressed", ocispecs.MediaTypeImageLayer, text, int64(len(text))},
		{"docker uncompressed", "application/vnd.docker.image.rootfs.diff.tar", text[:500], 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := memStore{}
			desc := store.add(tt.mediaType, tt.blob)
			m := NewMeterFromProvider(store, nil)
			got, err := m.layer(context.Background(), desc)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("size %d, want %d", got, tt.want)
			}
		})
	}
}

// TestGzipTrailerSizeRefuses checks when the trailer is not trusted: the
// layer is then decompressed instead.
func TestGzipTrailerSizeRefuses(t *testing.T) {
	valid := gzipped(t, bytes.Repeat([]byte("x"), 50_000))
	// A trailer smaller than the blob: the size wrapped around 4 GiB.
	wrapped := bytes.Clone(gzipped(t, make([]byte, 10_000)))
	padded := append(wrapped[:len(wrapped)-4:len(wrapped)-4], make([]byte, 20_000)...)
	padded = binary.LittleEndian.AppendUint32(padded, 100)
	tests := []struct {
		name string
		desc ocispecs.Descriptor
		blob []byte
	}{
		{"not gzip media type", ocispecs.Descriptor{MediaType: ocispecs.MediaTypeImageLayerZstd}, valid},
		{"no gzip magic", ocispecs.Descriptor{MediaType: ocispecs.MediaTypeImageLayerGzip}, append([]byte{0, 0}, valid[2:]...)},
		{"too large to be sure", ocispecs.Descriptor{MediaType: ocispecs.MediaTypeImageLayerGzip, Size: trailerMaxBlob + 1}, valid},
		{"trailer below the blob's size", ocispecs.Descriptor{MediaType: ocispecs.MediaTypeImageLayerGzip}, padded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			desc := tt.desc
			if desc.Size == 0 {
				desc.Size = int64(len(tt.blob))
			}
			if n, ok := gzipTrailerSize(readerAt{bytes.NewReader(tt.blob)}, desc); ok {
				t.Errorf("trailer trusted (%d bytes)", n)
			}
		})
	}
	if n, ok := gzipTrailerSize(readerAt{bytes.NewReader(valid)}, ocispecs.Descriptor{MediaType: ocispecs.MediaTypeImageLayerGzip, Size: int64(len(valid))}); !ok || n != 50_000 {
		t.Errorf("valid layer: %d, %v; want 50000, true", n, ok)
	}
}

// TestPlainTarLayerIsNotRead: a plain tar is its own size, so the meter
// does not read it (the store here does not even hold it), and the image's
// compressed size is unknown.
func TestPlainTarLayerIsNotRead(t *testing.T) {
	m := NewMeterFromProvider(memStore{}, nil)
	n, err := m.layer(context.Background(), ocispecs.Descriptor{MediaType: ocispecs.MediaTypeImageLayer, Digest: digest.FromString("absent"), Size: 4096})
	if err != nil || n != 4096 {
		t.Fatalf("size %d, %v; want 4096 from the descriptor", n, err)
	}
	im := Image{Layers: []Layer{{Compressed: 10, Uncompressed: 30}, {Compressed: 4096, Uncompressed: 4096, Tar: true}}}
	if s := im.Size(); s.CompressedKnown || s.Compressed != 0 || s.Uncompressed != 4126 {
		t.Errorf("size %+v, want 4126 bytes and no compressed size", s)
	}
	if s := im.Prefix(1); !s.CompressedKnown || s.Compressed != 10 {
		t.Errorf("prefix %+v, want 10 bytes compressed", s)
	}
}
