package build

import (
	"context"
	"io"
	"strings"

	"github.com/moby/buildkit/client"
)

// Driver is one kind of builder: how its BuildKit is reached, what it can do,
// and the Docker Engine API beside it when it has one (the engine whose
// BuildKit it is, or the engine that runs its container). Each kind is a file
// of its own (driver_*.go), like buildx's driver package. Orchestration asks
// Features, never the kind.
type Driver interface {
	// Features says what the builder can do; it may ask the builder.
	Features(ctx context.Context) (Features, error)

	// InspectImage says what the Docker Engine knows of an image in its
	// store (by name or ID).
	InspectImage(ctx context.Context, ref string) (Image, error)
	// RemoveImage removes an image from the Docker Engine's store.
	RemoveImage(ctx context.Context, id string) error
	// PushImage pushes an image of the Docker Engine's store by name, with
	// the Engine API's encoded registry credentials (auth, may be ""), and
	// returns the digest the registry holds.
	PushImage(ctx context.Context, name, auth string) (string, error)
	// LoadImage loads a docker image tarball into the Docker Engine's store.
	LoadImage(ctx context.Context, tarball io.Reader) error

	// Close releases what the driver holds beside the BuildKit client.
	Close() error

	// dial connects a BuildKit client to the builder.
	dial(ctx context.Context) (*client.Client, error)
}

// Image is what the Docker Engine says of an image in its store.
type Image struct {
	// ID is the engine's ID: the config digest on the classic image store,
	// the manifest's or index's digest on the containerd image store.
	ID string
	// Size is the engine's figure, as `docker image ls` shows it.
	Size     int64
	Layers   int
	RepoTags []string
}

// kind is how a builder is reached. The address says it, except for the
// Docker Engine, which is known by where its address came from (DOCKER_HOST
// or the engine's socket): an engine listens on unix:// and tcp:// too.
type kind int

const (
	kindBuildkitd       kind = iota // buildkitd over unix:// or tcp:// (+mTLS)
	kindEngine                      // the Docker Engine's embedded BuildKit
	kindDockerContainer             // docker-container://: buildkitd in a container of the engine
	kindKubePod                     // kube-pod://: buildkitd in a Kubernetes pod
	kindSSH                         // ssh://: buildkitd on a host reached over SSH
)

// kindOf is the kind of builder at addr; engine says the address is a Docker
// Engine API address.
func kindOf(addr string, engine bool) kind {
	switch {
	case strings.HasPrefix(addr, DockerContainerScheme):
		return kindDockerContainer
	case engine:
		return kindEngine
	case strings.HasPrefix(addr, kubePodScheme):
		return kindKubePod
	case strings.HasPrefix(addr, sshScheme):
		return kindSSH
	}
	// Anything else goes to BuildKit's client as it is, which says what it
	// does not know.
	return kindBuildkitd
}

// newDriver opens the driver for a candidate address, without connecting to
// its BuildKit yet.
func newDriver(ctx context.Context, c candidate, opts ConnectOptions) (Driver, error) {
	switch kindOf(c.addr, c.engine) {
	case kindDockerContainer:
		return newContainerDriver(ctx, strings.TrimPrefix(c.addr, DockerContainerScheme), opts)
	case kindEngine:
		return newEngineDriver(c.addr)
	case kindKubePod, kindSSH:
		return newHelperDriver(c.addr), nil
	}
	return newBuildkitdDriver(c.addr, opts)
}
