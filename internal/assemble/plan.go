package assemble

import (
	"slices"

	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/result"
)

// Plan is the plan as a report shows it, with a row for every stage of the
// Dockerfile (what `stagegate stages --format json` prints).
func Plan(plan *dockerfile.Plan) result.Plan {
	p := planOf(plan)
	p.File = plan.Graph.File
	p.Stages = make([]result.Stage, 0, len(plan.Graph.Stages))
	for _, st := range plan.Graph.Stages {
		p.Stages = append(p.Stages, Describe(plan, st))
	}
	return p
}

// planOf is the plan's choices: the target, the test stages and the
// candidates that were not picked, each with its reason. Its File and Stages
// are left empty.
func planOf(plan *dockerfile.Plan) result.Plan {
	p := result.Plan{
		Target: plan.Target.Name, TargetReason: plan.TargetReason,
		TestTargets: make([]result.TestTarget, 0, len(plan.Tests)),
	}
	for _, t := range plan.Tests {
		p.TestTargets = append(p.TestTargets, result.TestTarget{Name: t.Name, Reason: t.Reason, Mode: result.TestMode(t.Mode)})
	}
	for _, c := range plan.Rejected {
		p.Rejected = append(p.Rejected, result.Candidate{Name: c.Name, Line: c.Line, Reason: c.Reason})
	}
	switch {
	case plan.TestsOff:
		p.NoTests = result.NoTestsOff
	case len(plan.Tests) == 0:
		p.NoTests = result.NoTestsFound
	}
	return p
}

// Describe is a stage's result row before anything is built: where it is,
// what it stands on and why the plan builds it.
func Describe(plan *dockerfile.Plan, st *dockerfile.Stage) result.Stage {
	g := plan.Graph
	row := result.Stage{
		Name:    st.Name,
		Index:   st.Index,
		Line:    st.Line,
		EndLine: st.EndLine,
		Base:    st.Base,
	}
	if st.BaseStage >= 0 {
		row.BaseStage = g.Stages[st.BaseStage].Name
	}
	for _, d := range st.Deps {
		if d.Stage >= 0 && !slices.Contains(row.DependsOn, g.Stages[d.Stage].Name) {
			row.DependsOn = append(row.DependsOn, g.Stages[d.Stage].Name)
		}
	}
	if _, ok := plan.Test(st); ok {
		row.Roles = append(row.Roles, result.RoleTest)
	}
	if st == plan.Target {
		row.Roles = append(row.Roles, result.RoleTarget)
	}
	if len(row.Roles) == 0 && slices.Contains(plan.Stages, st) {
		row.Roles = []result.Role{result.RoleDep}
	}
	for _, t := range append(plan.TestStages(), plan.Target) {
		if slices.Contains(g.Reach(t), st) && !slices.Contains(row.ReachedBy, t.Name) {
			row.ReachedBy = append(row.ReachedBy, t.Name)
		}
	}
	return row
}
