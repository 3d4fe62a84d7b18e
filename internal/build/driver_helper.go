package build

import (
	"context"

	"github.com/moby/buildkit/client"
	// BuildKit's connection helpers for kube-pod:// and ssh:// addresses,
	// which client.New then accepts (docker-container:// is reached through
	// the Engine API instead: driver_container.go).
	_ "github.com/moby/buildkit/client/connhelper/kubepod"
	_ "github.com/moby/buildkit/client/connhelper/ssh"
)

const (
	kubePodScheme = "kube-pod://"
	sshScheme     = "ssh://"
)

// helperDriver is a buildkitd reached through one of BuildKit's connection
// helpers: in a Kubernetes pod (kube-pod://) or on a host over SSH (ssh://).
type helperDriver struct {
	noEngine
	addr string
}

func newHelperDriver(addr string) *helperDriver {
	return &helperDriver{noEngine: noEngine{addr}, addr: addr}
}

func (d *helperDriver) dial(ctx context.Context) (*client.Client, error) {
	return client.New(ctx, d.addr)
}

func (d *helperDriver) Features(context.Context) (Features, error) {
	return buildkitFeatures(), nil
}

func (d *helperDriver) Close() error { return nil }
