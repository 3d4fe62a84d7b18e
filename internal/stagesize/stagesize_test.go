package stagesize

import (
	"slices"
	"testing"

	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/sizes"
)

const chainDockerfile = `FROM busybox AS base
RUN echo base > /base

FROM base AS build
RUN echo build > /build

FROM build AS test
RUN test -s /build

FROM busybox AS tools
RUN echo tools > /tools

FROM build AS final
COPY --from=tools /tools /tools
`

func TestPlanExports(t *testing.T) {
	g, err := dockerfile.Parse("Dockerfile", []byte(chainDockerfile), dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	img := func(target, platform string) build.StageImage {
		return build.StageImage{Target: target, Platform: platform}
	}
	tests := []struct {
		name     string
		imgs     []build.StageImage
		finals   []build.StageImage
		exported []string
	}{
		{"a chain: only its end", []build.StageImage{img("base", ""), img("build", ""), img("test", "")}, nil, []string{"test"}},
		{"the final target exported by the build covers what it is built on, not what it copies from",
			[]build.StageImage{img("base", ""), img("build", ""), img("tools", "")}, []build.StageImage{img("final", "")}, []string{"tools"}},
		{"a stage of its own is exported", []build.StageImage{img("base", ""), img("tools", "")}, nil, []string{"base", "tools"}},
		{"another platform does not cover", []build.StageImage{img("base", "linux/arm64"), img("test", "linux/amd64")}, nil, []string{"base", "test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := planExports(g, tt.imgs, tt.finals)
			want := len(tt.imgs) + len(tt.finals)
			if len(got) != want {
				t.Fatalf("%d images, want %d", len(got), want)
			}
			var exported []string
			for _, im := range got {
				if im.Export {
					exported = append(exported, im.Target)
				}
			}
			if !slices.Equal(exported, tt.exported) {
				t.Errorf("exported %v, want %v", exported, tt.exported)
			}
		})
	}
}

func TestSizerDerivesStagesFromAnImageBuiltOnThem(t *testing.T) {
	g, err := dockerfile.Parse("Dockerfile", []byte(chainDockerfile), dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	layers := []sizes.Layer{{Compressed: 1, Uncompressed: 10}, {Compressed: 2, Uncompressed: 20}, {Compressed: 4, Uncompressed: 40}, {Compressed: 8, Uncompressed: 80}}
	newSizer := func(test sizes.Image, final bool) *sizer {
		return &sizer{g: g,
			measured: map[imageKey]sizes.Image{{"test", ""}: test},
			// busybox has one layer with history; each RUN one more.
			history: map[imageKey]int{{"base", ""}: 2, {"build", ""}: 3, {"test", ""}: 4, {"tools", ""}: 2},
			final:   map[imageKey]bool{{"test", ""}: final},
		}
	}
	tarTop := append(slices.Clone(layers[:3]), sizes.Layer{Compressed: 80, Uncompressed: 80, Tar: true})
	tests := []struct {
		name  string
		test  sizes.Image
		final bool // test's image is the build's own export
		key   imageKey
		want  *sizes.Size
	}{
		{"measured", sizes.Image{Layers: layers}, true, imageKey{"test", ""}, &sizes.Size{Layers: 4, Compressed: 15, CompressedKnown: true, Uncompressed: 150}},
		{"one stage down", sizes.Image{Layers: layers}, true, imageKey{"build", ""}, &sizes.Size{Layers: 3, Compressed: 7, CompressedKnown: true, Uncompressed: 70}},
		{"two stages down", sizes.Image{Layers: layers}, true, imageKey{"base", ""}, &sizes.Size{Layers: 2, Compressed: 3, CompressedKnown: true, Uncompressed: 30}},
		{"measured by a stage export", sizes.Image{Layers: layers}, false, imageKey{"test", ""}, &sizes.Size{Layers: 4, Uncompressed: 150}},
		{"one stage down a stage export", sizes.Image{Layers: layers}, false, imageKey{"build", ""}, &sizes.Size{Layers: 3, Uncompressed: 70}},
		{"a layer stored as a plain tar", sizes.Image{Layers: tarTop}, true, imageKey{"test", ""}, &sizes.Size{Layers: 4, Uncompressed: 150}},
		{"below the plain tar layer", sizes.Image{Layers: tarTop}, true, imageKey{"build", ""}, &sizes.Size{Layers: 3, Compressed: 7, CompressedKnown: true, Uncompressed: 70}},
		{"not built on it", sizes.Image{Layers: layers}, true, imageKey{"tools", ""}, nil},
		{"the exporter wrote history of its own", sizes.Image{Layers: layers, ExporterHistory: true}, true, imageKey{"build", ""}, nil},
		{"fewer layers than the histories tell", sizes.Image{Layers: layers[:1]}, true, imageKey{"base", ""}, nil},
		{"another platform", sizes.Image{Layers: layers}, true, imageKey{"build", "linux/arm64"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := newSizer(tt.test, tt.final).size(tt.key)
			switch {
			case tt.want == nil && ok:
				t.Errorf("size %+v, want none", got)
			case tt.want != nil && !ok:
				t.Errorf("no size, want %+v", *tt.want)
			case tt.want != nil && got != *tt.want:
				t.Errorf("size %+v, want %+v", got, *tt.want)
			}
		})
	}
}

// A stage that both the final image and an image exported to be measured
// were built on takes its size from the final image, whose compressed size
// is the pushed one; whichever the map yields first.
func TestSizerPrefersTheFinalImage(t *testing.T) {
	g, err := dockerfile.Parse("Dockerfile", []byte(chainDockerfile), dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	layers := []sizes.Layer{{Compressed: 1, Uncompressed: 10}, {Compressed: 2, Uncompressed: 20}, {Compressed: 4, Uncompressed: 40}, {Compressed: 8, Uncompressed: 80}}
	for range 20 {
		z := &sizer{g: g,
			measured: map[imageKey]sizes.Image{{"test", ""}: {Layers: layers}, {"final", ""}: {Layers: layers}},
			history:  map[imageKey]int{{"base", ""}: 2, {"build", ""}: 3, {"test", ""}: 4, {"final", ""}: 4},
			final:    map[imageKey]bool{{"final", ""}: true},
		}
		want := sizes.Size{Layers: 3, Compressed: 7, CompressedKnown: true, Uncompressed: 70}
		if got, ok := z.size(imageKey{"build", ""}); !ok || got != want {
			t.Fatalf("size of build %+v (%v), want %+v", got, ok, want)
		}
	}
}
