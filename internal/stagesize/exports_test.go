package stagesize

import (
	"slices"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/dockerfile"
)

// chainPlan plans chainDockerfile: test stage "test", target "final".
func chainPlan(t *testing.T, ps, testPs []string) Plan {
	t.Helper()
	g, err := dockerfile.Parse("Dockerfile", []byte(chainDockerfile), dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := g.Plan(dockerfile.PlanOptions{Target: "final", TestPatterns: []string{"test"}})
	if err != nil {
		t.Fatal(err)
	}
	return Plan{Plan: plan, Platforms: ps, TestPlatforms: testPs}
}

// describe writes export requests as one line each: the images in order,
// with @platform when they have one, a * after those exported, and then how
// they are exported.
func describe(reqs []build.StageExportRequest) []string {
	var out []string
	for _, r := range reqs {
		var imgs []string
		for _, img := range r.Images {
			s := img.Target
			if img.Platform != "" {
				s += "@" + img.Platform
			}
			if img.Export {
				s += "*"
			}
			imgs = append(imgs, s)
		}
		for _, e := range r.Exports {
			imgs = append(imgs, "-> "+e.Type)
			if e.Attrs["compression-level"] != "" {
				imgs = append(imgs, e.Attrs["compression"]+"-"+e.Attrs["compression-level"])
			}
		}
		out = append(out, strings.Join(imgs, " "))
	}
	return out
}

func TestExports(t *testing.T) {
	host := platforms.DefaultString()
	contentStore := build.Features{ContentStore: true}
	tests := []struct {
		name       string
		ps, testPs []string
		features   build.Features
		solved     []string
		exported   bool
		want       []string
	}{
		{"the final image exported: it is read for its history; the test image shares its FROM stages and is compressed as the final image is",
			nil, nil, contentStore, []string{"test", "final"}, true,
			[]string{"base build tools* final -> image gzip-1", "test* -> image"}},
		{"the test failed: only its chain's end is exported",
			nil, nil, contentStore, []string{"final"}, false,
			[]string{"base build tools* final* -> image gzip-1"}},
		{"fail-fast stopped before the final target",
			nil, nil, contentStore, []string{"test"}, false,
			[]string{"base build test* -> image gzip-1"}},
		{"one platform: stages are named with it",
			[]string{"linux/arm64"}, nil, contentStore, []string{"final"}, true,
			[]string{"base@linux/arm64 build@linux/arm64 tools@linux/arm64* final@linux/arm64 -> image gzip-1"}},
		{"a test platform of its own: the stages below it keep the final target's, which it does not cover",
			[]string{"linux/arm64"}, []string{"linux/amd64"}, contentStore, []string{"test"}, false,
			[]string{"base@linux/arm64 build@linux/arm64* test@linux/amd64* -> image gzip-1"}},
		{"several platforms: each stage for each, the test stages for the builder's own",
			[]string{"linux/amd64", "linux/arm64"}, nil, contentStore, []string{"test"}, false,
			[]string{"base@" + host + " build@" + host + " test@" + host + "* -> image gzip-1"}},
		{"several platforms, the final image exported",
			[]string{"linux/amd64", "linux/arm64"}, nil, contentStore, []string{"final"}, true,
			[]string{"base@linux/amd64 base@linux/arm64 build@linux/amd64 build@linux/arm64 tools@linux/amd64* tools@linux/arm64* final@linux/amd64 final@linux/arm64 -> image gzip-1"}},
		{"the classic store: one image an export, into the engine, the final image left to the build",
			nil, nil, build.Features{}, []string{"test", "final"}, true,
			[]string{"base* -> moby", "build* -> moby", "test* -> moby", "tools* -> moby"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := chainPlan(t, tt.ps, tt.testPs)
			got := describe(p.Exports(tt.features).Requests(tt.solved, tt.exported))
			if !slices.Equal(got, tt.want) {
				t.Errorf("requests\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestPlatform(t *testing.T) {
	tests := []struct {
		name       string
		ps, testPs []string
		stage      string
		want       string
	}{
		{"the builder's own", nil, nil, "build", ""},
		{"the final target's platform", []string{"linux/arm64"}, nil, "build", "linux/arm64"},
		{"the final target's of several: told by the result row", []string{"linux/amd64", "linux/arm64"}, nil, "final", ""},
		{"a test stage: the builder's own, whatever the final target's", []string{"linux/arm64"}, nil, "test", ""},
		{"a test stage: its test platform", []string{"linux/arm64"}, []string{"linux/amd64"}, "test", "linux/amd64"},
		{"a test stage of several test platforms: told by the result row", nil, []string{"linux/amd64", "linux/arm64"}, "test", ""},
		{"a stage the test stage is built on: the final target's", []string{"linux/arm64"}, []string{"linux/amd64"}, "build", "linux/arm64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := chainPlan(t, tt.ps, tt.testPs)
			st, _ := p.Graph.Stage(tt.stage)
			if got := p.platform(st); got != tt.want {
				t.Errorf("platform %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	g, err := dockerfile.Parse("Dockerfile", []byte("FROM busybox\nRUN true\n\nFROM busybox AS tools\n\nFROM busybox\nCOPY --from=0 / /\n"), dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := g.Plan(dockerfile.PlanOptions{TestPatterns: []string{dockerfile.NoTests}})
	if err != nil {
		t.Fatal(err)
	}
	p := Plan{Plan: plan, Platforms: []string{"linux/arm64"}}
	var m Measurement
	keys := p.keys([]Image{{Stage: g.Stages[0]}, {Stage: g.Stages[1]}, {Stage: g.Stages[2], Platform: "linux/amd64"}}, &m)
	want := []*imageKey{nil, {"tools", "linux/arm64"}, {"", "linux/amd64"}}
	for i := range want {
		if (keys[i] == nil) != (want[i] == nil) || keys[i] != nil && *keys[i] != *want[i] {
			t.Errorf("key %d: %v, want %v", i, keys[i], want[i])
		}
	}
	if len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0], "name it with AS") {
		t.Errorf("warnings %q, want one about the unnamed stage", m.Warnings)
	}
}
