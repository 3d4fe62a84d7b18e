package gate

import (
	"context"
	"fmt"
	"strings"

	dockerclient "github.com/moby/moby/client"
	"github.com/stagegate/stagegate/internal/build"
)

// builderFeatures is what a builder can do that others cannot.
type builderFeatures struct {
	// cacheExport: cache backends other than inline.
	cacheExport bool
	// multiPlatform: images for several platforms at once.
	multiPlatform bool
	// contentStore: the "image" exporter, whose unnamed images stay in
	// BuildKit's content store, where stagegate reads them. Without it,
	// images go only into the Docker Engine's image store.
	contentStore bool
}

// containerdSnapshotter is the driver type of an engine with the containerd
// image store.
const containerdSnapshotter = "io.containerd.snapshotter.v1"

// featuresOf says what b supports. The Docker Engine's BuildKit with the
// classic image store exports only inline cache and single-platform images;
// with the containerd image store, and every other builder, it does all.
func featuresOf(ctx context.Context, b *build.Builder) (builderFeatures, error) {
	if !b.Engine {
		return builderFeatures{cacheExport: true, multiPlatform: true, contentStore: true}, nil
	}
	info, err := b.Docker.Info(ctx, dockerclient.InfoOptions{})
	if err != nil {
		return builderFeatures{}, fmt.Errorf("ask the Docker Engine what it supports: %w", err)
	}
	return engineFeatures(info.Info.DriverStatus), nil
}

func engineFeatures(driverStatus [][2]string) builderFeatures {
	for _, kv := range driverStatus {
		if kv[0] == "driver-type" && kv[1] == containerdSnapshotter {
			return builderFeatures{cacheExport: true, multiPlatform: true, contentStore: true}
		}
	}
	return builderFeatures{}
}

// checkFeatures refuses, before building, what the builder cannot do, and
// says which builder would do it.
func checkFeatures(cfg *Config, address string, f builderFeatures) error {
	const other = "use a docker-container builder (docker/setup-buildx-action, then the builder input) or turn on the Docker Engine's containerd image store"
	for _, c := range cfg.CacheTo {
		if c.Type != "inline" && !f.cacheExport {
			return usageErrorf("cache-to type=%s: the Docker Engine's BuildKit at %s (classic image store) exports only inline cache; %s", c.Type, address, other)
		}
	}
	if len(cfg.Platforms) > 1 && !f.multiPlatform {
		return usageErrorf("platforms %s: the Docker Engine's BuildKit at %s (classic image store) builds one platform at a time; %s", strings.Join(cfg.Platforms, ","), address, other)
	}
	return nil
}
