package sizes

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	digest "github.com/opencontainers/go-digest"
)

// maxCachedLayers bounds the layer size cache file.
const maxCachedLayers = 20000

// LayerCache remembers layers' uncompressed sizes between runs. A layer is
// named by its content digest, so a size once measured is right forever; a
// warm build then measures its stages without decompressing anything.
type LayerCache struct {
	path  string
	sizes map[digest.Digest]int64
}

// DefaultLayerCachePath is where the cache lives: $STAGEGATE_CACHE, else the
// user's cache directory.
func DefaultLayerCachePath() string {
	dir := os.Getenv("STAGEGATE_CACHE")
	if dir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(d, "stagegate")
	}
	return filepath.Join(dir, "layer-sizes.json")
}

// OpenLayerCache reads the cache at path; a missing or unreadable file is an
// empty cache ("" keeps it in memory only).
func OpenLayerCache(path string) *LayerCache {
	c := &LayerCache{path: path, sizes: map[digest.Digest]int64{}}
	if path == "" {
		return c
	}
	if dt, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(dt, &c.sizes) // a damaged cache is only a slower run
	}
	return c
}

// Save writes the cache back (atomically).
func (c *LayerCache) Save() error {
	if c.path == "" {
		return nil
	}
	if len(c.sizes) > maxCachedLayers {
		c.sizes = map[digest.Digest]int64{} // start over rather than grow without bound
	}
	dt, err := json.Marshal(c.sizes)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return fmt.Errorf("save layer sizes: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".layer-sizes-*")
	if err != nil {
		return fmt.Errorf("save layer sizes: %w", err)
	}
	_, werr := tmp.Write(dt)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save layer sizes: %w", err)
	}
	return os.Rename(tmp.Name(), c.path)
}
