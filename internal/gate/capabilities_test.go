package gate

import (
	"strings"
	"testing"

	"github.com/moby/buildkit/client"
	"github.com/stagegate/stagegate/internal/build"
)

func TestCheckFeatures(t *testing.T) {
	classic := build.EngineFeatures(build.ClassicImageStore)
	containerd := build.EngineFeatures(build.ContainerdImageStore)
	cases := []struct {
		name     string
		cfg      Config
		features build.Features
		want     string // "" when allowed
	}{
		{"inline cache on the classic store", Config{CacheTo: []client.CacheOptionsEntry{{Type: "inline"}}}, classic, ""},
		{"gha cache on the classic store", Config{CacheTo: []client.CacheOptionsEntry{{Type: "gha"}}}, classic, "exports only inline cache"},
		{"registry cache on the containerd store", Config{CacheTo: []client.CacheOptionsEntry{{Type: "registry"}}}, containerd, ""},
		{"two platforms on the classic store", Config{Platforms: []string{"linux/amd64", "linux/arm64"}}, classic, "one platform at a time"},
		{"two platforms on the containerd store", Config{Platforms: []string{"linux/amd64", "linux/arm64"}}, containerd, ""},
		{"push from the classic store (the engine pushes)", Config{Push: true, Tags: []string{"registry.example/app:1"}}, classic, ""},
		{"push from the containerd store", Config{Push: true, Tags: []string{"registry.example/app:1"}}, containerd, ""},
		{"tags on the classic store", Config{Tags: []string{"app:1"}}, classic, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkFeatures(&tc.cfg, "unix:///var/run/docker.sock", tc.features)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "docker-container builder")):
				t.Errorf("error %v, want one saying %q and naming the builder that would do it", err, tc.want)
			}
		})
	}
}
