package build

import (
	"context"
	"fmt"
	"net/url"

	"github.com/moby/buildkit/client"
)

// buildkitdDriver is a buildkitd reached over unix:// or tcp://, the latter
// with mutual TLS when TLS options are set.
type buildkitdDriver struct {
	noEngine
	addr string
	opts []client.ClientOpt
}

func newBuildkitdDriver(addr string, opts ConnectOptions) (*buildkitdDriver, error) {
	copts, err := tlsOpts(addr, opts)
	if err != nil {
		return nil, err
	}
	return &buildkitdDriver{noEngine: noEngine{addr}, addr: addr, opts: copts}, nil
}

// tlsOpts are the client's TLS options for a tcp:// address, when a CA or a
// client certificate is set; none otherwise.
func tlsOpts(addr string, opts ConnectOptions) ([]client.ClientOpt, error) {
	u, err := url.Parse(addr)
	if err != nil || u.Scheme != "tcp" || (opts.TLS.CA == "" && opts.TLS.Cert == "") {
		return nil, nil
	}
	serverName := opts.TLS.ServerName
	if serverName == "" {
		serverName = u.Hostname()
	}
	var copts []client.ClientOpt
	if opts.TLS.CA != "" {
		copts = append(copts, client.WithServerConfig(serverName, opts.TLS.CA))
	} else {
		copts = append(copts, client.WithServerConfigSystem(serverName))
	}
	if opts.TLS.Cert != "" || opts.TLS.Key != "" {
		if opts.TLS.Cert == "" || opts.TLS.Key == "" {
			return nil, fmt.Errorf("%s and %s must be given together", opts.option("tls-cert"), opts.option("tls-key"))
		}
		copts = append(copts, client.WithCredentials(opts.TLS.Cert, opts.TLS.Key))
	}
	return copts, nil
}

func (d *buildkitdDriver) dial(ctx context.Context) (*client.Client, error) {
	return client.New(ctx, d.addr, d.opts...)
}

func (d *buildkitdDriver) Features(context.Context) (Features, error) {
	return buildkitFeatures(), nil
}

func (d *buildkitdDriver) Close() error { return nil }
