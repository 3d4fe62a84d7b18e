package gate_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/gate"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/testenv"
)

// builder is a way to reach BuildKit: the standalone buildkitd, or the Docker
// Engine's embedded BuildKit found the way a container action finds it (no
// BUILDKIT_HOST, only DOCKER_HOST).
type builder struct {
	name    string
	connect func(t *testing.T) build.ConnectOptions
	// classicStore: the Docker Engine keeps images in its classic store,
	// which holds no compressed layers (no compressed sizes).
	classicStore bool
}

var builders = []builder{
	{name: "buildkitd", connect: func(t *testing.T) build.ConnectOptions {
		return build.ConnectOptions{Host: testenv.BuildKitHost(t)}
	}},
	{name: "docker-engine", connect: func(t *testing.T) build.ConnectOptions {
		return engineOnly(testenv.DockerHost(t))
	}},
	{name: "docker-engine-classic-store", classicStore: true, connect: func(t *testing.T) build.ConnectOptions {
		return engineOnly(testenv.StartClassicStoreEnvironment(t).Exports["DOCKER_HOST"])
	}},
}

// engineOnly is what a container action sees: DOCKER_HOST and nothing else.
func engineOnly(docker string) build.ConnectOptions {
	return build.ConnectOptions{Getenv: func(k string) string {
		if k == "DOCKER_HOST" {
			return docker
		}
		return ""
	}}
}

// TestScenariosOnEveryBuilder runs the same scenarios on both builders.
func TestScenariosOnEveryBuilder(t *testing.T) {
	scenarios := []struct {
		name  string
		check func(t *testing.T, b builder, conn build.ConnectOptions)
	}{
		{"passing run, test then final, with sizes, nothing left in an image store", func(t *testing.T, b builder, conn build.ConnectOptions) {
			var dc *client.Client
			var images map[string]bool
			if conn.Getenv != nil {
				docker := conn.Getenv("DOCKER_HOST")
				dc = testenv.Engine{Host: docker}.Client(t)
				images = untaggedImages(t, dc)
			}
			res := run(t, &gate.Config{ContextDir: filepath.Join(repoRoot(t), "examples", "app"), NoCache: true, Connect: conn})
			if res.Result != result.Passed {
				t.Fatalf("result %s: %s", res.Result, res.Error)
			}
			if want := conn.Host; want != "" && res.Builder != want || want == "" && res.Builder != conn.Getenv("DOCKER_HOST") {
				t.Fatalf("built on %q", res.Builder)
			}
			test, final := stage(t, res, "test"), stage(t, res, "final")
			if test.Status != result.StatusPassed || final.Status != result.StatusPassed || final.StartedAt.Before(*test.CompletedAt) {
				t.Errorf("test %s, final %s (final must start after the test)", test.Status, final.Status)
			}
			for _, st := range res.Stages {
				// Compressed sizes are the final image's, as its export
				// compressed it (the other stages' are left out).
				wantCompressed := !b.classicStore && st.HasRole(result.RoleTarget)
				if st.Size == nil || *st.Size == 0 || (st.CompressedSize != nil) != wantCompressed {
					t.Errorf("stage %s: size %v, compressed %v (warnings %v)", st.Name, st.Size, st.CompressedSize, res.Warnings)
				}
			}
			if dc != nil {
				for id := range untaggedImages(t, dc) {
					if !images[id] {
						t.Errorf("image %s without a tag appeared in the engine: a stage was left behind", id)
					}
				}
			}
		}},
		{"failing test pinned to its line", func(t *testing.T, _ builder, conn build.ConnectOptions) {
			ctx := testenv.Context(t, map[string]string{"Dockerfile": `FROM busybox AS build
RUN echo built > /a

FROM build AS test
RUN echo "` + testenv.Token(t) + `" && echo "want 1 got 2" && exit 5

FROM busybox AS final
COPY --from=build /a /a
`})
			res := run(t, &gate.Config{TestTargets: []string{"test"}, ContextDir: ctx, Connect: conn})
			f := res.Failure
			if res.Result != result.Failed || f == nil || f.Stage != "test" || f.Line != 5 || f.ExitCode == nil || *f.ExitCode != 5 || !slices.Contains(f.LogTail, "want 1 got 2") {
				t.Fatalf("result %s failure %+v", res.Result, f)
			}
			if st := stage(t, res, "final"); st.Status != result.StatusSkipped {
				t.Errorf("final %s, want skipped", st.Status)
			}
		}},
		{"second run cached", func(t *testing.T, _ builder, conn build.ConnectOptions) {
			ctx := testenv.Context(t, map[string]string{"Dockerfile": `FROM busybox AS build
RUN echo "` + testenv.Token(t) + `" > /a
FROM build AS test
RUN test -s /a
FROM busybox AS final
COPY --from=build /a /a
`})
			run(t, &gate.Config{TestTargets: []string{"test"}, ContextDir: ctx, Connect: conn})
			res := run(t, &gate.Config{TestTargets: []string{"test"}, ContextDir: ctx, Connect: conn})
			for _, st := range res.Stages {
				if st.Status != result.StatusCached {
					t.Errorf("stage %s: %s (%d/%d cached)", st.Name, st.Status, st.CachedSteps, st.Steps)
				}
			}
		}},
		{"CMD-style tests run in the builder", func(t *testing.T, _ builder, conn build.ConnectOptions) {
			res := run(t, &gate.Config{TestTargets: []string{"test"}, ContextDir: cmdStyle(t, "2"), Connect: conn})
			test := stage(t, res, "test")
			if res.Result != result.Failed || test.Tests == nil || test.Tests.Mode != result.TestModeRun || res.Failure.ExitCode == nil || *res.Failure.ExitCode != 2 {
				t.Fatalf("result %s, test %+v, failure %+v", res.Result, test.Tests, res.Failure)
			}
		}},
		{"build checks reported", func(t *testing.T, _ builder, conn build.ConnectOptions) {
			ctx := testenv.Context(t, map[string]string{"Dockerfile": "FROM busybox as test\nRUN echo \"" + testenv.Token(t) + "\"\nFROM busybox AS final\n"})
			res := run(t, &gate.Config{TestTargets: []string{"test"}, ContextDir: ctx, Connect: conn})
			if len(res.BuildChecks) != 1 || res.BuildChecks[0].Rule != "FromAsCasing" || res.BuildChecks[0].Line != 1 {
				t.Errorf("checks %+v", res.BuildChecks)
			}
		}},
	}
	for _, b := range builders {
		t.Run(b.name, func(t *testing.T) {
			conn := b.connect(t)
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) { sc.check(t, b, conn) })
			}
		})
	}
}

// untaggedImages are the engine's images that no tag names (what a stage
// exported into the engine and left behind would be), by ID. Other tests use
// the same engine at the same time, so only images without a tag count.
func untaggedImages(t *testing.T, dc *client.Client) map[string]bool {
	t.Helper()
	list, err := dc.ImageList(context.Background(), client.ImageListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, img := range list.Items {
		if len(img.RepoTags) == 0 || (len(img.RepoTags) == 1 && img.RepoTags[0] == "<none>:<none>") {
			out[img.ID] = true
		}
	}
	return out
}

// TestLoadIntoTheEngine: load puts the final image into the engine's store
// under its tag, and no stage leaves an image behind; a failing test loads
// nothing; a builder that cannot load says so before building. On both of
// the engine's image stores.
func TestLoadIntoTheEngine(t *testing.T) {
	for _, b := range builders {
		if b.name == "buildkitd" {
			continue
		}
		t.Run(b.name, func(t *testing.T) { testLoad(t, b) })
	}
}

func testLoad(t *testing.T, b builder) {
	conn := b.connect(t)
	dc := testenv.Engine{Host: conn.Getenv("DOCKER_HOST")}.Client(t)
	before := untaggedImages(t, dc)
	tag := "stagegate-test/" + strings.ToLower(strings.ReplaceAll(testenv.Token(t), "_", "-")) + ":loaded"
	res := run(t, &gate.Config{ContextDir: filepath.Join(repoRoot(t), "examples", "app"), Load: true, Tags: []string{tag}, Connect: conn})
	if res.Result != result.Passed {
		t.Fatalf("result %s: %s", res.Result, res.Error)
	}
	inspect, err := dc.ImageInspect(context.Background(), tag)
	if err != nil {
		t.Fatalf("the loaded image is not in the engine: %v", err)
	}
	for id := range untaggedImages(t, dc) {
		if !before[id] {
			t.Errorf("image %s without a tag appeared: a stage was left behind in the engine", id)
		}
	}
	t.Cleanup(func() { dc.ImageRemove(context.Background(), tag, client.ImageRemoveOptions{Force: true}) })
	if inspect.ID == "" {
		t.Error("no image id")
	}

	failTag := "stagegate-test/" + strings.ToLower(strings.ReplaceAll(testenv.Token(t), "_", "-")) + ":failed"
	failing := run(t, &gate.Config{ContextDir: filepath.Join(repoRoot(t), "examples", "failing-test"), Load: true, Tags: []string{failTag}, Connect: conn})
	if failing.Result != result.Failed {
		t.Fatalf("failing example passed")
	}
	if _, err := dc.ImageInspect(context.Background(), failTag); err == nil {
		t.Error("an image whose tests failed was loaded")
	}

	start := time.Now()
	_, err = gate.Run(context.Background(), &gate.Config{ContextDir: filepath.Join(repoRoot(t), "examples", "app"), Load: true, Tags: []string{tag},
		Connect: build.ConnectOptions{Host: testenv.BuildKitHost(t)}})
	if err == nil || !strings.Contains(err.Error(), "load needs a Docker Engine") {
		t.Errorf("load on a standalone buildkitd: %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Error("the refusal came late")
	}
}

// TestDockerContainerBuilder reaches a buildkitd that runs in a container of
// the engine, by builder name, through the Engine API (no docker CLI).
func TestDockerContainerBuilder(t *testing.T) {
	name := testenv.StartBuildkitContainer(t, "sgtest")
	docker := testenv.DockerHost(t)
	getenv := func(k string) string {
		if k == "DOCKER_HOST" {
			return docker
		}
		return ""
	}
	res := run(t, &gate.Config{ContextDir: filepath.Join(repoRoot(t), "examples", "app"), Connect: build.ConnectOptions{Builder: name, Getenv: getenv}})
	if res.Result != result.Passed || res.Builder != "docker-container://"+name {
		t.Fatalf("result %s on %q: %s", res.Result, res.Builder, res.Error)
	}
	if st := stage(t, res, "test"); st.Status != result.StatusPassed {
		t.Errorf("test stage %s", st.Status)
	}
	// The address form buildx prints names the same builder.
	res = run(t, &gate.Config{ContextDir: filepath.Join(repoRoot(t), "examples", "app"), Connect: build.ConnectOptions{Builder: "docker-container://" + name, Getenv: getenv}})
	if res.Result != result.Passed || res.Builder != "docker-container://"+name {
		t.Fatalf("with the scheme: result %s on %q: %s", res.Result, res.Builder, res.Error)
	}

	// A container named like a builder that is no BuildKit.
	notBuildkit := strings.ToLower(strings.ReplaceAll(testenv.Token(t), "_", "-"))
	testenv.RunContainer(t, "buildx_buildkit_"+notBuildkit+"0", &container.Config{Image: "busybox", Cmd: []string{"sleep", "300"}}, nil)
	for _, tc := range []struct {
		builder string
		want    []string
	}{
		{"nope", []string{`no builder "nope"`, name}},
		{notBuildkit, []string{"cannot run buildctl", "executable file not found", "docker buildx create"}},
		{"unix:///run/buildkit/buildkitd.sock", []string{`--builder "unix:///run/buildkit/buildkitd.sock": expected the name of a docker-container builder`, "--buildkit-host"}},
	} {
		_, err := gate.Run(context.Background(), &gate.Config{ContextDir: filepath.Join(repoRoot(t), "examples", "app"), Connect: build.ConnectOptions{Builder: tc.builder, Getenv: getenv, Timeout: 10 * time.Second}})
		for _, want := range tc.want {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("builder %q: error %v, want it to say %q", tc.builder, err, want)
			}
		}
	}
}
