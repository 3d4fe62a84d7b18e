package build

import (
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/client"
)

// describeRequests writes export requests as one line each: the images in
// order, a * after those exported, and "->" when the request has exports.
func describeRequests(reqs []StageExportRequest) []string {
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
		line := strings.Join(imgs, " ")
		if r.Exports != nil {
			line += " ->"
		}
		out = append(out, line)
	}
	return out
}

func TestStageExportPlanRequests(t *testing.T) {
	exports := []client.ExportEntry{{Type: client.ExporterImage}}
	img := func(target string) StageImage { return StageImage{Target: target} }
	// base <- build <- test, build <- final (which copies from tools).
	chain := &StageExportPlan{
		Images: []PlannedStageImage{
			{StageImage: img("base"), CoveredBy: []int{1, 2, 4}, SharesStageWith: []int{4}},
			{StageImage: img("build"), CoveredBy: []int{2, 4}, SharesStageWith: []int{4}},
			{StageImage: img("test"), SharesStageWith: []int{4}},
			{StageImage: img("tools")},
			{StageImage: img("final"), Final: true},
		},
		Targets:       map[string][]int{"test": {0, 1, 2}, "final": {0, 1, 3, 4}},
		Exports:       exports,
		SharedExports: exports,
	}
	onePer := &StageExportPlan{Images: chain.Images, Targets: chain.Targets, Exports: exports, OnePerExport: true}
	tests := []struct {
		name     string
		plan     *StageExportPlan
		solved   []string
		exported bool
		want     []string
	}{
		{"no plan", nil, []string{"test", "final"}, true, nil},
		{"nothing solved", chain, nil, false, nil},
		{"a target the plan does not know", chain, []string{"other"}, false, nil},
		{"the test only: the end of its chain is exported, what it was built on solved for its history",
			chain, []string{"test"}, false, []string{"base build test* ->"}},
		{"the final image exported by the build: it is solved for its history, and what shares a stage with it is exported on its own",
			chain, []string{"test", "final"}, true, []string{"base build tools* final ->", "test* ->"}},
		{"the final target solved but not exported (a test failed): exported beside the build like any stage",
			chain, []string{"final"}, false, []string{"base build tools* final* ->"}},
		{"nothing left to export: no exports, the images are solved for their history",
			&StageExportPlan{Images: chain.Images, Targets: map[string][]int{"final": {0, 1, 4}}, Exports: exports},
			[]string{"final"}, true, []string{"base build final"}},
		{"the order is the solved targets', each image once",
			chain, []string{"final", "test"}, false, []string{"base build tools* final* test* ->"}},
		{"one image per export: all but the final image the build exported",
			onePer, []string{"test", "final"}, true, []string{"base* ->", "build* ->", "test* ->", "tools* ->"}},
		{"one image per export, the final image not exported by the build",
			onePer, []string{"final"}, false, []string{"base* ->", "build* ->", "tools* ->", "final* ->"}},
		{"one image per export, nothing but the final image", onePer, []string{"other"}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := describeRequests(tt.plan.Requests(tt.solved, tt.exported))
			if !slices.Equal(got, tt.want) {
				t.Errorf("requests\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
