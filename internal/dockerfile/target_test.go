package dockerfile

import "testing"

func TestFrontendTargets(t *testing.T) {
	g, err := Parse("Dockerfile", []byte("FROM busybox AS build\nRUN true\nFROM busybox\nRUN true\nFROM build AS test\nRUN true\nFROM busybox\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		stage  int
		target string
		ok     bool
	}{
		{0, "build", true},
		{1, "", false}, // unnamed, not last: the frontend cannot build it alone
		{2, "test", true},
		{3, "", true}, // unnamed last: the default target
	}
	for _, tt := range tests {
		st := g.Stages[tt.stage]
		target, ok := g.FrontendTarget(st)
		if target != tt.target || ok != tt.ok {
			t.Errorf("stage %d: FrontendTarget = %q, %v; want %q, %v", tt.stage, target, ok, tt.target, tt.ok)
		}
		if ok && g.TargetStage(target) != st {
			t.Errorf("stage %d: TargetStage(%q) is stage %d", tt.stage, target, g.TargetStage(target).Index)
		}
	}
}
