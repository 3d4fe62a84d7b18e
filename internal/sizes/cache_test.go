package sizes

import (
	"os"
	"path/filepath"
	"testing"

	digest "github.com/opencontainers/go-digest"
)

func TestLayerCacheRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "layer-sizes.json")
	c := OpenLayerCache(path)
	d := digest.FromString("layer")
	c.sizes[d] = 1234
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	if got := OpenLayerCache(path).sizes[d]; got != 1234 {
		t.Errorf("reopened cache has %d for the layer, want 1234", got)
	}
	// A damaged file is an empty cache, not an error.
	if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := len(OpenLayerCache(path).sizes); n != 0 {
		t.Errorf("a damaged cache gave %d entries", n)
	}
	// In memory only.
	if err := OpenLayerCache("").Save(); err != nil {
		t.Errorf("saving an in-memory cache: %v", err)
	}
}
