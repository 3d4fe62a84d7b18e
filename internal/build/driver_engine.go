package build

import (
	"context"
	"fmt"
	"net"

	"github.com/moby/buildkit/client"
	dockerclient "github.com/moby/moby/client"
)

// engineDriver is the Docker Engine's embedded BuildKit, reached as buildx's
// "docker" driver reaches it: gRPC and sessions over hijacked Engine API
// requests. What it can do depends on the engine's image store (Features).
type engineDriver struct {
	engineAPI
}

func newEngineDriver(host string) (*engineDriver, error) {
	dc, err := dockerClient(host)
	if err != nil {
		return nil, err
	}
	return &engineDriver{engineAPI{dc}}, nil
}

func (d *engineDriver) dial(ctx context.Context) (*client.Client, error) {
	return client.New(ctx, "",
		client.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return d.dc.DialHijack(ctx, "/grpc", "h2c", nil)
		}),
		client.WithSessionDialer(func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
			return d.dc.DialHijack(ctx, "/session", proto, meta)
		}))
}

// Features asks the engine which image store it has.
func (d *engineDriver) Features(ctx context.Context) (Features, error) {
	info, err := d.dc.Info(ctx, dockerclient.InfoOptions{})
	if err != nil {
		return Features{}, fmt.Errorf("ask the Docker Engine what it supports: %w", err)
	}
	return EngineFeatures(imageStoreOf(info.Info.DriverStatus)), nil
}

// containerdSnapshotter is the driver type of an engine with the containerd
// image store.
const containerdSnapshotter = "io.containerd.snapshotter.v1"

// imageStoreOf is the image store of an engine whose `docker info` reports
// driverStatus.
func imageStoreOf(driverStatus [][2]string) ImageStore {
	for _, kv := range driverStatus {
		if kv[0] == "driver-type" && kv[1] == containerdSnapshotter {
			return ContainerdImageStore
		}
	}
	return ClassicImageStore
}

// EngineFeatures are those of the Docker Engine's BuildKit with an image
// store. With the containerd image store it does what any BuildKit does, and
// its exporter puts images into the engine directly. With the classic store
// it has no content store, exports only inline cache and single-platform
// images, and cannot push: the engine pushes what it stored.
func EngineFeatures(store ImageStore) Features {
	if store == ContainerdImageStore {
		f := buildkitFeatures()
		f.ImageStore, f.Load = ContainerdImageStore, LoadByExporter
		return f
	}
	return Features{ImageStore: ClassicImageStore, CacheExport: InlineCacheOnly, Push: PushByEngine, Load: LoadByExporter}
}
