package gate

import (
	"strings"

	"github.com/stagegate/stagegate/internal/build"
)

// checkFeatures refuses, before building, what the builder cannot do, and
// says which builder would do it. Only the Docker Engine's BuildKit with the
// classic image store lacks any of these features.
func checkFeatures(cfg *Config, address string, f build.Features) error {
	const other = "use a docker-container builder (docker/setup-buildx-action, then the builder input) or turn on the Docker Engine's containerd image store"
	for _, c := range cfg.CacheTo {
		if !f.CacheExport.Exports(c.Type) {
			return usageErrorf("cache-to type=%s: the Docker Engine's BuildKit at %s (classic image store) exports only inline cache; %s", c.Type, address, other)
		}
	}
	if len(cfg.Platforms) > 1 && !f.MultiPlatform {
		return usageErrorf("platforms %s: the Docker Engine's BuildKit at %s (classic image store) builds one platform at a time; %s", strings.Join(cfg.Platforms, ","), address, other)
	}
	return nil
}
