package build

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"

	"github.com/moby/moby/api/pkg/stdcopy"
	dockerclient "github.com/moby/moby/client"
)

// DockerContainerScheme addresses a BuildKit running in a container of the
// Docker Engine (a buildx "docker-container" builder).
const DockerContainerScheme = "docker-container://"

// buildxContainerPrefix is how buildx names a builder's container:
// buildx_buildkit_<builder>0.
const buildxContainerPrefix = "buildx_buildkit_"

// dialEngine connects to the Docker Engine's embedded BuildKit, as buildx's
// "docker" driver does: gRPC and sessions over hijacked Engine API requests.
func engineDialers(dc *dockerclient.Client) (grpcDial func(context.Context, string) (net.Conn, error), sessionDial func(context.Context, string, map[string][]string) (net.Conn, error)) {
	return func(ctx context.Context, _ string) (net.Conn, error) {
			return dc.DialHijack(ctx, "/grpc", "h2c", nil)
		}, func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
			return dc.DialHijack(ctx, "/session", proto, meta)
		}
}

// dialContainer connects to the BuildKit in a container through the Engine
// API's exec ("buildctl dial-stdio"): no docker CLI is needed.
func dialContainer(ctx context.Context, dc *dockerclient.Client, container string) (net.Conn, error) {
	exec, err := dc.ExecCreate(ctx, container, dockerclient.ExecCreateOptions{
		Cmd:          []string{"buildctl", "dial-stdio"},
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return nil, fmt.Errorf("exec buildctl dial-stdio in container %s: %w", container, err)
	}
	attach, err := dc.ExecAttach(ctx, exec.ID, dockerclient.ExecAttachOptions{})
	if err != nil {
		return nil, fmt.Errorf("attach to buildctl dial-stdio in container %s: %w", container, err)
	}
	// Without a TTY the Engine multiplexes stdout and stderr on the stream.
	pr, pw := io.Pipe()
	c := &execConn{Conn: attach.Conn, r: pr, done: make(chan struct{})}
	go func() {
		_, err := stdcopy.StdCopy(pw, &c.stderr, attach.Reader)
		if err == nil {
			err = io.EOF
		}
		pw.CloseWithError(err)
		close(c.done)
	}()
	return c, nil
}

// execConn is the exec's stdin and demultiplexed stdout as one connection.
type execConn struct {
	net.Conn
	r      *io.PipeReader
	stderr lockedBuffer
	done   chan struct{}
}

func (c *execConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *execConn) Close() error {
	c.r.Close()
	return c.Conn.Close()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 64<<10 {
		return len(p), nil
	}
	return l.b.Write(p)
}

// containerForBuilder finds the container of a buildx builder or a container
// named directly; an unknown name is an error that lists the builders there are.
func containerForBuilder(ctx context.Context, dc *dockerclient.Client, name string) (string, error) {
	list, err := dc.ContainerList(ctx, dockerclient.ContainerListOptions{All: true})
	if err != nil {
		return "", fmt.Errorf("list containers: %w", err)
	}
	var builders []string
	for _, c := range list.Items {
		for _, n := range c.Names {
			n = strings.TrimPrefix(n, "/")
			if n == name || n == buildxContainerPrefix+name+"0" {
				if c.State != "running" {
					return "", fmt.Errorf("builder container %s is %s, not running: start it (docker start %s)", n, c.State, n)
				}
				return n, nil
			}
			if b, ok := strings.CutPrefix(n, buildxContainerPrefix); ok {
				builders = append(builders, strings.TrimSuffix(b, "0"))
			}
		}
	}
	sort.Strings(builders)
	if len(builders) == 0 {
		return "", fmt.Errorf("there is no builder %q and no docker-container builder at all on this engine: create one with `docker buildx create --driver docker-container --name %s`", name, name)
	}
	return "", fmt.Errorf("there is no builder %q; the docker-container builders are: %s", name, strings.Join(builders, ", "))
}
