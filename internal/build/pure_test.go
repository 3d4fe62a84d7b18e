package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestBuilderGone(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"cancelled", context.Canceled, false},
		{"deadline", fmt.Errorf("solve: %w", context.DeadlineExceeded), false},
		{"EOF", fmt.Errorf("read: %w", io.EOF), true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"connection reset", fmt.Errorf("write: %w", syscall.ECONNRESET), true},
		{"connection refused", syscall.ECONNREFUSED, true},
		{"broken pipe", syscall.EPIPE, true},
		{"gRPC unavailable", status.Error(codes.Unavailable, "connection error"), true},
		{"transport closing, as text", errors.New("rpc error: code = Unknown desc = transport is closing"), true},
		{"a failing step", errors.New(`process "/bin/sh -c exit 3" did not complete successfully: exit code: 3`), false},
		{"gRPC invalid argument", status.Error(codes.InvalidArgument, "bad target"), false},
	} {
		if got := builderGone(tc.err); got != tc.want {
			t.Errorf("%s: builderGone(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestExplain(t *testing.T) {
	if Explain(nil) != nil {
		t.Error("Explain(nil) is not nil")
	}
	plain := errors.New("plain")
	if Explain(plain) != plain {
		t.Error("Explain changed an error that is no gRPC status")
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{status.Error(codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial unix /run/buildkit/buildkitd.sock: connect: no such file or directory"`),
			"dial unix /run/buildkit/buildkitd.sock: connect: no such file or directory"},
		{status.Error(codes.Unavailable, `connection error: desc = "transport: authentication handshake failed: x509: certificate signed by unknown authority"`),
			"x509: certificate signed by unknown authority"},
		{status.Error(codes.Internal, "something broke"), "something broke"},
	} {
		got := Explain(tc.err)
		if got.Error() != tc.want {
			t.Errorf("Explain(%v) = %q, want %q", tc.err, got, tc.want)
		}
		if !errors.Is(got, tc.err) {
			t.Errorf("Explain(%v) does not wrap the original error", tc.err)
		}
	}
}

func TestFrontendOptFor(t *testing.T) {
	r := &Request{
		DockerfilePath: "/src/docker/app.Dockerfile",
		BuildArgs:      map[string]string{"VERSION": "1.2"},
		Labels:         map[string]string{"org.opencontainers.image.title": "app"},
		NoCache:        true,
		Platforms:      []string{"linux/amd64", "linux/arm64"},
		FrontendAttrs:  map[string]string{"attest:provenance": "mode=min"},
	}
	want := map[string]string{
		"filename": "app.Dockerfile", "target": "test",
		"build-arg:VERSION": "1.2", "label:org.opencontainers.image.title": "app",
		"no-cache": "", "platform": "linux/amd64,linux/arm64", "attest:provenance": "mode=min",
	}
	if got := r.frontendOpt("test"); !maps.Equal(got, want) {
		t.Errorf("frontendOpt = %v, want %v", got, want)
	}
	// Test stages may be built for other platforms (none: the builder's).
	got := r.frontendOptFor("test", nil)
	if _, ok := got["platform"]; ok {
		t.Errorf("frontendOptFor(nil) sets platform %q", got["platform"])
	}
}

func TestDockerignore(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	df := filepath.Join(dir, "app.Dockerfile")
	if got, err := dockerignore(dir, df); err != nil || got != nil {
		t.Errorf("no .dockerignore: %v, %v", got, err)
	}
	write(".dockerignore", "# comment\n.git\nnode_modules\n")
	if got, err := dockerignore(dir, df); err != nil || !slices.Equal(got, []string{".git", "node_modules"}) {
		t.Errorf("context's .dockerignore: %v, %v", got, err)
	}
	// The Dockerfile's own ignore file wins, as in BuildKit.
	write("app.Dockerfile.dockerignore", "dist\n")
	if got, err := dockerignore(dir, df); err != nil || !slices.Equal(got, []string{"dist"}) {
		t.Errorf("Dockerfile's .dockerignore: %v, %v", got, err)
	}
}

func TestSharedKey(t *testing.T) {
	a, b := sharedKey("/src/a"), sharedKey("/src/b")
	if a == b || len(a) != 32 || sharedKey("/src/a") != a {
		t.Errorf("sharedKey: %q and %q; want 32 stable hex digits per directory", a, b)
	}
}

func TestCandidates(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	action := func(flag string) string {
		return map[string]string{"builder": "builder", "buildkit-host": "buildkit-host"}[flag]
	}
	for _, tc := range []struct {
		name    string
		opts    ConnectOptions
		getenv  func(string) string
		socket  bool // the Docker Engine's default socket exists
		want    []string
		wantErr string
	}{
		{name: "a builder by name", opts: ConnectOptions{Builder: "ci"}, getenv: env("BUILDKIT_HOST", "tcp://x:1234"),
			want: []string{"docker-container://ci (builder)"}},
		{name: "a builder in the address form buildx prints", opts: ConnectOptions{Builder: "docker-container://ci"},
			want: []string{"docker-container://ci (builder)"}},
		{name: "another address as a builder, from the CLI", opts: ConnectOptions{Builder: "tcp://x:1234"},
			wantErr: `--builder "tcp://x:1234": expected the name of a docker-container builder (see docker buildx ls): set an address with --buildkit-host instead`},
		{name: "another address as a builder, from the action", opts: ConnectOptions{Builder: "unix:///b.sock", OptionName: action},
			wantErr: `builder "unix:///b.sock": expected the name of a docker-container builder (see docker buildx ls): set an address with buildkit-host instead`},
		{name: "an address over the environment", opts: ConnectOptions{Host: "tcp://y:1234"}, getenv: env("BUILDKIT_HOST", "tcp://x:1234"),
			want: []string{"tcp://y:1234 (--buildkit-host)"}},
		{name: "BUILDKIT_HOST over the engine", getenv: env("BUILDKIT_HOST", "tcp://x:1234", "DOCKER_HOST", "unix:///d.sock"), socket: true,
			want: []string{"tcp://x:1234 (BUILDKIT_HOST)"}},
		{name: "DOCKER_HOST, then BuildKit's socket", getenv: env("DOCKER_HOST", "unix:///d.sock"), socket: true,
			want: []string{"unix:///d.sock (DOCKER_HOST) engine", DefaultBuildKitSocket + " (BuildKit's default socket)"}},
		{name: "the engine's default socket, then BuildKit's", socket: true,
			want: []string{"unix://" + DefaultDockerSocket + " (Docker Engine socket) engine", DefaultBuildKitSocket + " (BuildKit's default socket)"}},
		{name: "no engine: BuildKit's socket only",
			want: []string{DefaultBuildKitSocket + " (BuildKit's default socket)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := tc.getenv
			if getenv == nil {
				getenv = env()
			}
			cands, err := candidates(tc.opts, getenv, func(string) bool { return tc.socket })
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range cands {
				s := c.addr + " (" + c.source + ")"
				if c.engine {
					s += " engine"
				}
				got = append(got, s)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("candidates %q, want %q", got, tc.want)
			}
		})
	}
}
