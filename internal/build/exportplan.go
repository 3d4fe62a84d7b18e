package build

import (
	"slices"

	"github.com/moby/buildkit/client"
)

// StageExportPlan says which stage images a build exports beside it, once
// its targets were solved. It is data made from the plan before the build
// (package stagesize makes it), so that the build asks nobody what to export:
// which of the images it names are exported depends only on which targets
// were solved and whether the build exported the final target, and the build
// knows both when it gets there.
type StageExportPlan struct {
	// Images are the stage images the targets build, each once.
	Images []PlannedStageImage
	// Targets lists, by frontend target, the images (indexes into Images)
	// solving that target builds, in order.
	Targets map[string][]int
	// Exports receive the images exported.
	Exports []client.ExportEntry
	// SharedExports receive, in an export of their own, the images that
	// share a stage with the final image the build exported
	// (SharesStageWith).
	SharedExports []client.ExportEntry
	// OnePerExport exports every image solved on its own, and none only for
	// its history: for an image store that takes one image per export (the
	// Docker Engine's classic store).
	OnePerExport bool
}

// PlannedStageImage is an image of a StageExportPlan.
type PlannedStageImage struct {
	// StageImage is the image; whether it is exported (Export) is decided
	// once the targets were solved.
	StageImage
	// Final marks the final target's own image. When the build exported
	// the final target, it is not exported again: it is solved only for its
	// history (or left out, with OnePerExport).
	Final bool
	// CoveredBy are the images (indexes into the plan's Images) built on
	// this one, FROM after FROM, for the same platform. When one of them
	// is solved beside the build too, this one is solved only for its
	// history: its layers are the first layers of that image.
	CoveredBy []int
	// SharesStageWith are the final images (indexes) that have a stage in
	// common with this one on their FROM chains, for the same platform.
	// When the build exported one of them, this one goes to SharedExports,
	// which compress as the final image's export does: BuildKit keeps the
	// first blob it makes of a layer, and either export may make the blob
	// of a layer they share.
	SharesStageWith []int
}

// Requests are the exports beside a build that solved the targets solved,
// in order, and exported the final target or not (exported).
func (p *StageExportPlan) Requests(solved []string, exported bool) []StageExportRequest {
	if p == nil {
		return nil
	}
	imgs, finals := p.solved(solved, exported)
	if p.OnePerExport {
		var reqs []StageExportRequest
		for _, i := range imgs {
			img := p.Images[i].StageImage
			img.Export = true
			reqs = append(reqs, StageExportRequest{Images: []StageImage{img}, Exports: p.Exports})
		}
		return reqs
	}
	if len(imgs) == 0 && len(finals) == 0 {
		return nil
	}
	// Sets, not lists: a Dockerfile may have hundreds of stages.
	there, isFinal := map[int]bool{}, map[int]bool{}
	for _, i := range imgs {
		there[i] = true
	}
	for _, i := range finals {
		there[i], isFinal[i] = true, true
	}
	final := func(i int) bool { return isFinal[i] }
	var req, shared StageExportRequest
	for _, i := range imgs {
		img := p.Images[i].StageImage
		img.Export = !slices.ContainsFunc(p.Images[i].CoveredBy, func(j int) bool { return there[j] })
		if img.Export && slices.ContainsFunc(p.Images[i].SharesStageWith, final) {
			shared.Images = append(shared.Images, img)
			continue
		}
		req.Images = append(req.Images, img)
	}
	// The final images, exported by the build itself, are solved for their
	// history: the images of the stages they were built on are their first
	// layers.
	for _, i := range finals {
		img := p.Images[i].StageImage
		img.Export = false
		req.Images = append(req.Images, img)
	}
	if slices.ContainsFunc(req.Images, func(img StageImage) bool { return img.Export }) {
		req.Exports = p.Exports
	}
	reqs := []StageExportRequest{req}
	if len(shared.Images) > 0 {
		shared.Exports = p.SharedExports
		reqs = append(reqs, shared)
	}
	return reqs
}

// solved are the images (indexes into Images) the targets solved built, each
// once, in order: finals are the final images when the build exported the
// final target, imgs the others.
func (p *StageExportPlan) solved(solved []string, exported bool) (imgs, finals []int) {
	seen := map[int]bool{}
	for _, t := range solved {
		for _, i := range p.Targets[t] {
			if seen[i] {
				continue
			}
			seen[i] = true
			if exported && p.Images[i].Final {
				finals = append(finals, i)
			} else {
				imgs = append(imgs, i)
			}
		}
	}
	return imgs, finals
}
