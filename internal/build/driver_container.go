package build

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/moby/api/pkg/stdcopy"
	dockerclient "github.com/moby/moby/client"
)

// DockerContainerScheme addresses a BuildKit running in a container of the
// Docker Engine (a buildx "docker-container" builder).
const DockerContainerScheme = "docker-container://"

// buildxContainerPrefix is how buildx names a builder's container:
// buildx_buildkit_<builder>0.
const buildxContainerPrefix = "buildx_buildkit_"

// containerDriver is a buildkitd in a container of the Docker Engine (a buildx
// "docker-container" builder), reached through the Engine API's exec: no
// docker CLI is needed. Images load into that engine as docker tarballs.
type containerDriver struct {
	engineAPI
	container string
}

// newContainerDriver finds the container of builder name on the engine at
// DOCKER_HOST (or the default socket).
func newContainerDriver(ctx context.Context, name string, opts ConnectOptions) (*containerDriver, error) {
	dc, err := dockerClient(getenvOr(opts)("DOCKER_HOST"))
	if err != nil {
		return nil, err
	}
	findCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
	container, err := containerForBuilder(findCtx, dc, name)
	cancel()
	if err != nil {
		dc.Close()
		return nil, err
	}
	return &containerDriver{engineAPI: engineAPI{dc}, container: container}, nil
}

func (d *containerDriver) dial(ctx context.Context) (*client.Client, error) {
	return client.New(ctx, "", client.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return dialContainer(ctx, d.dc, d.container)
	}))
}

// Features: a buildkitd of its own, whose images the engine beside it loads
// from tarballs.
func (d *containerDriver) Features(context.Context) (Features, error) {
	f := buildkitFeatures()
	f.Load = LoadByTarball
	return f, nil
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
	// What dial-stdio says on stderr is not read here: when the connection
	// fails, diagnose runs buildctl again to say why.
	pr, pw := io.Pipe()
	c := &execConn{Conn: attach.Conn, r: pr}
	go func() {
		_, err := stdcopy.StdCopy(pw, io.Discard, attach.Reader)
		if err == nil {
			err = io.EOF
		}
		pw.CloseWithError(err)
	}()
	return c, nil
}

// execConn is the exec's stdin and demultiplexed stdout as one connection.
type execConn struct {
	net.Conn
	r *io.PipeReader
}

func (c *execConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *execConn) Close() error {
	c.r.Close()
	return c.Conn.Close()
}

// diagnose says why the container's BuildKit did not answer when buildctl
// cannot run there (a container that is no BuildKit, or an image without
// buildctl): the Engine then writes its error where BuildKit's answer was
// expected, and gRPC reports only a garbled frame. nil when buildctl runs.
func (d *containerDriver) diagnose(ctx context.Context) error {
	exec, err := d.dc.ExecCreate(ctx, d.container, dockerclient.ExecCreateOptions{
		Cmd:          []string{"buildctl", "--version"},
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return nil
	}
	attach, err := d.dc.ExecAttach(ctx, exec.ID, dockerclient.ExecAttachOptions{})
	if err != nil {
		return nil
	}
	defer attach.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = attach.Conn.SetDeadline(deadline) // the stream does not watch ctx
	}
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, io.LimitReader(attach.Reader, 4<<10)); err != nil {
		return nil
	}
	// The stream may end a moment before the engine records the exit code.
	var inspect dockerclient.ExecInspectResult
	for range 20 {
		if inspect, err = d.dc.ExecInspect(ctx, exec.ID, dockerclient.ExecInspectOptions{}); err != nil || !inspect.Running {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || inspect.Running || inspect.ExitCode == 0 {
		return nil
	}
	return fmt.Errorf("container %s cannot run buildctl (exit code %d: %s): it is no BuildKit builder; use a container made by `docker buildx create --driver docker-container`, or moby/buildkit's image",
		d.container, inspect.ExitCode, strings.TrimSpace(out.String()))
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
