// Package build talks to BuildKit: it finds and connects to a builder, and runs
// one session in which the test targets are solved before the final target.
package build

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
	"google.golang.org/grpc/status"
)

// DefaultBuildKitSocket is buildkitd's default address.
const DefaultBuildKitSocket = "unix:///run/buildkit/buildkitd.sock"

// DefaultDockerSocket is where the Docker Engine listens, and where GitHub
// mounts it into a container action.
const DefaultDockerSocket = "/var/run/docker.sock"

// TLS holds the client side of a mutual-TLS tcp:// connection.
type TLS struct {
	CA         string // CA certificate that signed the daemon's certificate
	Cert, Key  string // client certificate and key
	ServerName string // defaults to the address's host
}

// ConnectOptions says where to look for a builder.
type ConnectOptions struct {
	// Host is an explicit address (--buildkit-host); when empty BUILDKIT_HOST,
	// then the Docker Engine, then DefaultBuildKitSocket are tried.
	Host string
	// Builder names a buildx docker-container builder (as docker-container://NAME).
	Builder string
	TLS     TLS
	// Getenv reads the environment; os.Getenv when nil.
	Getenv func(string) string
	// Timeout bounds each connection attempt; 20s when zero.
	Timeout time.Duration
	// OptionName says, for errors that tell the user what to change, how
	// they set an option named by the CLI's flag ("buildkit-host"): the flag
	// itself when nil; the action names its inputs. "" means there is no
	// way to set it (the action has no TLS inputs), and the hint is left out.
	OptionName func(flag string) string
}

// option is how the user sets the option flag (see OptionName).
func (o ConnectOptions) option(flag string) string {
	if o.OptionName == nil {
		return "--" + flag
	}
	return o.OptionName(flag)
}

// Builder is a connected BuildKit. Its kind is its Driver: ask the driver's
// Features what it can do, and the driver for the Docker Engine's images.
type Builder struct {
	Driver
	Client *client.Client
	// Address is what was connected to, as the user would write it.
	Address string
}

// Close closes the connection, and what the driver holds.
func (b *Builder) Close() error {
	b.Driver.Close()
	return b.Client.Close()
}

type candidate struct {
	addr   string // as shown to the user
	source string // where the address came from
	engine bool   // a Docker Engine API address
}

// Connect finds a builder that answers. When none does, the error names every
// address tried and how to point stagegate at a builder.
func Connect(ctx context.Context, opts ConnectOptions) (*Builder, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if opts.Timeout == 0 {
		opts.Timeout = 20 * time.Second
	}
	cands, err := candidates(opts, getenv, fileExists)
	if err != nil {
		return nil, err
	}
	var tried []string
	for _, c := range cands {
		b, err := connect(ctx, c, opts)
		if err == nil {
			return b, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		tried = append(tried, fmt.Sprintf("  %s (%s): %v", c.addr, c.source, err))
	}
	return nil, &NoBuilderError{Tried: tried, Hint: noBuilderHint(opts)}
}

// candidates are the addresses to try, in order: the builder named, the
// address given, BUILDKIT_HOST, else the Docker Engine (DOCKER_HOST, or its
// default socket when exists says it is there) and BuildKit's default socket.
func candidates(opts ConnectOptions, getenv func(string) string, exists func(string) bool) ([]candidate, error) {
	switch {
	case opts.Builder != "":
		name := strings.TrimPrefix(opts.Builder, DockerContainerScheme)
		if strings.Contains(name, "://") {
			return nil, &OptionError{opts.option("builder"), opts.Builder, "the name of a docker-container builder (see docker buildx ls)",
				fmt.Errorf("set an address with %s instead", opts.option("buildkit-host"))}
		}
		return []candidate{{addr: DockerContainerScheme + name, source: "builder"}}, nil
	case opts.Host != "":
		source := opts.option("buildkit-host")
		if source == "" {
			source = "buildkit-host"
		}
		return []candidate{{addr: opts.Host, source: source}}, nil
	case getenv("BUILDKIT_HOST") != "":
		return []candidate{{addr: getenv("BUILDKIT_HOST"), source: "BUILDKIT_HOST"}}, nil
	}
	var cands []candidate
	if h := getenv("DOCKER_HOST"); h != "" {
		cands = append(cands, candidate{addr: h, source: "DOCKER_HOST", engine: true})
	} else if exists(DefaultDockerSocket) {
		cands = append(cands, candidate{addr: "unix://" + DefaultDockerSocket, source: "Docker Engine socket", engine: true})
	}
	return append(cands, candidate{addr: DefaultBuildKitSocket, source: "BuildKit's default socket"}), nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// NoBuilderError says that no builder answered.
type NoBuilderError struct {
	Tried []string
	// Hint says how to point stagegate at a builder, in the words of the
	// CLI or of the action.
	Hint string
}

func (e *NoBuilderError) Error() string {
	return "no BuildKit builder answered; tried:\n" + strings.Join(e.Tried, "\n") + "\n" + e.Hint
}

// noBuilderHint names the options a user has to choose a builder.
func noBuilderHint(opts ConnectOptions) string {
	with := "BUILDKIT_HOST"
	if host := opts.option("buildkit-host"); host != "" {
		with = host + " or BUILDKIT_HOST"
	}
	tcp := "tcp://HOST:1234"
	if ca, cert, key := opts.option("tls-ca"), opts.option("tls-cert"), opts.option("tls-key"); ca != "" && cert != "" && key != "" {
		tcp += " (with " + ca + ", " + cert + ", " + key + ")"
	}
	container := "docker-container://NAME (a builder made by `docker buildx create`)"
	if b := opts.option("builder"); b != "" {
		container += " or " + b
	}
	return "Point stagegate at a builder with " + with + ", for example\n" +
		"  unix:///run/buildkit/buildkitd.sock, " + tcp + ",\n" +
		"  " + container + ", or DOCKER_HOST for a Docker Engine."
}

func connect(ctx context.Context, c candidate, opts ConnectOptions) (*Builder, error) {
	d, err := newDriver(ctx, c, opts)
	if err != nil {
		return nil, err
	}
	cl, err := d.dial(ctx)
	if err != nil {
		d.Close()
		return nil, Explain(err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if _, err := cl.ListWorkers(pingCtx); err != nil {
		cl.Close()
		d.Close()
		if pingCtx.Err() != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("no answer within %s", opts.Timeout)
		}
		if dg, ok := d.(diagnoser); ok {
			diagCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
			defer cancel()
			if why := dg.diagnose(diagCtx); why != nil {
				return nil, why
			}
		}
		return nil, tlsHint(Explain(err), opts)
	}
	return &Builder{Driver: d, Client: cl, Address: c.addr}, nil
}

// diagnoser is a driver that can say why its builder did not answer, better
// than the connection's error does.
type diagnoser interface {
	diagnose(ctx context.Context) error
}

func getenvOr(opts ConnectOptions) func(string) string {
	if opts.Getenv != nil {
		return opts.Getenv
	}
	return os.Getenv
}

// tlsHint adds what to check to a TLS failure, when the user can change it.
func tlsHint(err error, opts ConnectOptions) error {
	msg := err.Error()
	cert, key := opts.option("tls-cert"), opts.option("tls-key")
	ca, serverName := opts.option("tls-ca"), opts.option("tls-server-name")
	switch {
	case (strings.Contains(msg, "certificate required") || (opts.TLS.CA != "" && opts.TLS.Cert == "")) && cert != "" && key != "":
		return fmt.Errorf("%w (the builder may require a client certificate: set %s and %s)", err, cert, key)
	case (strings.Contains(msg, "x509:") || strings.Contains(msg, "tls:")) && ca != "" && serverName != "":
		return fmt.Errorf("%w (check that %s is the CA that signed the builder's certificate, and %s)", err, ca, serverName)
	}
	return err
}

// Explain turns a gRPC status from the builder into a plain error that keeps
// the detail a user needs (the cause), without gRPC's framing.
func Explain(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	msg := st.Message()
	// "connection error: desc = \"transport: Error while dialing: dial unix ...\""
	if i := strings.LastIndex(msg, "desc = "); i >= 0 {
		msg = strings.Trim(msg[i+len("desc = "):], `"`)
	}
	msg = strings.ReplaceAll(msg, `\"`, `"`)
	msg = strings.TrimPrefix(msg, "transport: ")
	msg = strings.TrimPrefix(msg, "Error while dialing: ")
	msg = strings.TrimPrefix(msg, "authentication handshake failed: ")
	return &builderError{msg: msg, err: err}
}

type builderError struct {
	msg string
	err error
}

func (e *builderError) Error() string { return e.msg }
func (e *builderError) Unwrap() error { return e.err }
