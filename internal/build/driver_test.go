package build

import (
	"context"
	"strings"
	"testing"
)

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		engine bool // the address came from DOCKER_HOST or the engine's socket
		want   kind
	}{
		{"unix:///run/buildkit/buildkitd.sock", false, kindBuildkitd},
		{"tcp://127.0.0.1:1234", false, kindBuildkitd},
		{"unix:///var/run/docker.sock", true, kindEngine},
		{"tcp://127.0.0.1:2375", true, kindEngine},
		{"docker-container://builder", false, kindDockerContainer},
		// A DOCKER_HOST cannot name a container builder, but if it does,
		// the scheme wins, as before.
		{"docker-container://builder", true, kindDockerContainer},
		{"kube-pod://buildkitd-0?namespace=ci", false, kindKubePod},
		{"ssh://user@build-host", false, kindSSH},
		// Unknown schemes go to BuildKit's client, which refuses them.
		{"npipe:////./pipe/buildkitd", false, kindBuildkitd},
		{"127.0.0.1:1234", false, kindBuildkitd},
	} {
		if got := kindOf(tc.addr, tc.engine); got != tc.want {
			t.Errorf("kindOf(%q, engine=%v) = %d, want %d", tc.addr, tc.engine, got, tc.want)
		}
	}
}

func TestEngineFeaturesFromDriverStatus(t *testing.T) {
	full := Features{ContentStore: true, ImageStore: NoImageStore, CacheExport: AnyCache, MultiPlatform: true, Push: PushByExporter, Load: NoLoad}
	for _, tc := range []struct {
		name         string
		driverStatus [][2]string
		want         Features
	}{
		{"classic store (overlay2)", [][2]string{{"Backing Filesystem", "extfs"}, {"Supports d_type", "true"}},
			Features{ImageStore: ClassicImageStore, CacheExport: InlineCacheOnly, Push: PushByEngine, Load: LoadByExporter}},
		{"no driver status", nil,
			Features{ImageStore: ClassicImageStore, CacheExport: InlineCacheOnly, Push: PushByEngine, Load: LoadByExporter}},
		{"containerd store", [][2]string{{"driver-type", containerdSnapshotter}},
			Features{ContentStore: true, ImageStore: ContainerdImageStore, CacheExport: AnyCache, MultiPlatform: true, Push: PushByExporter, Load: LoadByExporter}},
		{"containerd store among others", [][2]string{{"Backing Filesystem", "extfs"}, {"driver-type", containerdSnapshotter}},
			Features{ContentStore: true, ImageStore: ContainerdImageStore, CacheExport: AnyCache, MultiPlatform: true, Push: PushByExporter, Load: LoadByExporter}},
		{"another driver type", [][2]string{{"driver-type", "io.containerd.snapshotter.v2"}},
			Features{ImageStore: ClassicImageStore, CacheExport: InlineCacheOnly, Push: PushByEngine, Load: LoadByExporter}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := EngineFeatures(imageStoreOf(tc.driverStatus)); got != tc.want {
				t.Errorf("features %+v, want %+v", got, tc.want)
			}
		})
	}
	t.Run("a BuildKit of its own", func(t *testing.T) {
		if got := buildkitFeatures(); got != full {
			t.Errorf("features %+v, want %+v", got, full)
		}
	})
}

// TestDriverFeatures: what each kind that needs no question to its daemon
// can do.
func TestDriverFeatures(t *testing.T) {
	ctx := context.Background()
	tarball := buildkitFeatures()
	tarball.Load = LoadByTarball
	for _, tc := range []struct {
		name   string
		driver Driver
		want   Features
	}{
		{"ssh", newHelperDriver("ssh://build-host"), buildkitFeatures()},
		{"kube-pod", newHelperDriver("kube-pod://buildkitd-0"), buildkitFeatures()},
		{"docker-container", &containerDriver{container: "buildx_buildkit_b0"}, tarball},
	} {
		got, err := tc.driver.Features(ctx)
		if err != nil || got != tc.want {
			t.Errorf("%s: features %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	d, err := newBuildkitdDriver("unix:///run/buildkit/buildkitd.sock", ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Features(ctx); got != buildkitFeatures() {
		t.Errorf("buildkitd: features %+v", got)
	}
}

func TestCacheExport(t *testing.T) {
	for _, tc := range []struct {
		c    CacheExport
		typ  string
		want bool
	}{
		{InlineCacheOnly, "inline", true},
		{InlineCacheOnly, "registry", false},
		{InlineCacheOnly, "gha", false},
		{AnyCache, "inline", true},
		{AnyCache, "local", true},
		{AnyCache, "s3", true},
	} {
		if got := tc.c.Exports(tc.typ); got != tc.want {
			t.Errorf("%d.Exports(%q) = %v, want %v", tc.c, tc.typ, got, tc.want)
		}
	}
}

func TestTLSOpts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		addr    string
		tls     TLS
		opts    int    // how many client options
		wantErr string // "" for none
	}{
		{"unix ignores TLS", "unix:///run/buildkit/buildkitd.sock", TLS{CA: "ca.pem"}, 0, ""},
		{"tcp without TLS", "tcp://127.0.0.1:1234", TLS{}, 0, ""},
		{"tcp with a CA", "tcp://127.0.0.1:1234", TLS{CA: "ca.pem"}, 1, ""},
		{"mutual TLS", "tcp://127.0.0.1:1234", TLS{CA: "ca.pem", Cert: "cert.pem", Key: "key.pem"}, 2, ""},
		{"system CAs with a client certificate", "tcp://127.0.0.1:1234", TLS{Cert: "cert.pem", Key: "key.pem"}, 2, ""},
		{"a key alone is no TLS", "tcp://127.0.0.1:1234", TLS{Key: "key.pem"}, 0, ""},
		{"a certificate without its key", "tcp://127.0.0.1:1234", TLS{CA: "ca.pem", Cert: "cert.pem"}, 0, "--tls-cert and --tls-key must be given together"},
		{"a key without its certificate", "tcp://127.0.0.1:1234", TLS{CA: "ca.pem", Key: "key.pem"}, 0, "--tls-cert and --tls-key must be given together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := tlsOpts(tc.addr, ConnectOptions{TLS: tc.tls})
			switch {
			case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
				t.Errorf("error %v, want %q", err, tc.wantErr)
			case tc.wantErr == "" && err != nil:
				t.Errorf("error %v", err)
			case len(opts) != tc.opts:
				t.Errorf("%d client options, want %d", len(opts), tc.opts)
			}
		})
	}
}

func TestNoEngine(t *testing.T) {
	d := newHelperDriver("ssh://build-host")
	ctx := context.Background()
	for name, err := range map[string]error{
		"inspect": func() error { _, err := d.InspectImage(ctx, "app:1"); return err }(),
		"remove":  d.RemoveImage(ctx, "sha256:0"),
		"push":    func() error { _, err := d.PushImage(ctx, "app:1", ""); return err }(),
		"load":    d.LoadImage(ctx, strings.NewReader("")),
	} {
		if err == nil || err.Error() != "the builder at ssh://build-host has no Docker Engine beside it" {
			t.Errorf("%s: %v", name, err)
		}
	}
}
