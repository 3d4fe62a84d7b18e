package gate

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/client"
	"github.com/stagegate/stagegate/internal/build"
)

// TestFinalExports: where the final image goes, by what the builder can do.
func TestFinalExports(t *testing.T) {
	buildkitd := build.Features{ContentStore: true, CacheExport: build.AnyCache, MultiPlatform: true, Push: build.PushByExporter, Load: build.NoLoad}
	container := buildkitd
	container.Load = build.LoadByTarball
	containerd := build.EngineFeatures(build.ContainerdImageStore)
	classic := build.EngineFeatures(build.ClassicImageStore)
	const noEngine, noTags = "error: load needs a Docker Engine", "error: load is set but there are no tags"
	tags := []string{"app:1"}
	cases := []struct {
		name string
		cfg  Config
		// what each builder exports: buildkitd, docker-container, engine
		// (containerd store), engine (classic store)
		want [4]string
	}{
		{"no tags", Config{}, [4]string{"image()", "image()", "image()", ""}},
		{"tags", Config{Tags: tags}, [4]string{"image(name)", "image(name)", "moby(name)", "moby(name)"}},
		{"push", Config{Tags: tags, Push: true}, [4]string{"image(name,push)", "image(name,push)", "image(name,push)", "moby(name)"}},
		{"load", Config{Tags: tags, Load: true}, [4]string{noEngine, "docker(name)", "moby(name)", "moby(name)"}},
		{"load and push", Config{Tags: tags, Load: true, Push: true}, [4]string{noEngine, "docker(name) image(name,push)", "moby(name) image(name,push)", "moby(name)"}},
		{"load without tags", Config{Load: true}, [4]string{noTags, noTags, noTags, noTags}},
	}
	b := &build.Builder{Address: "unix:///run/buildkit/buildkitd.sock"}
	for _, tc := range cases {
		for i, f := range []build.Features{buildkitd, container, containerd, classic} {
			exports, err := finalExports(context.Background(), &tc.cfg, b, f)
			if got := describeExports(exports, err); got != tc.want[i] {
				t.Errorf("%s on builder %d: %q, want %q", tc.name, i, got, tc.want[i])
			}
		}
	}
}

// describeExports is "type(attr,...) ..." or "error: ..." (its first words).
func describeExports(exports []client.ExportEntry, err error) string {
	if err != nil {
		msg, _, _ := strings.Cut(err.Error(), ",")
		msg, _, _ = strings.Cut(msg, ":")
		return "error: " + msg
	}
	var s []string
	for _, e := range exports {
		s = append(s, e.Type+"("+strings.Join(slices.Sorted(maps.Keys(e.Attrs)), ",")+")")
	}
	return strings.Join(s, " ")
}
