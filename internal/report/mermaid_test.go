package report

import (
	"strings"
	"testing"

	"github.com/stagegate/stagegate/internal/result"
)

func TestMermaid(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stages   []result.Stage
		want     []string
		dontWant []string
	}{
		{
			name:   "build graph: an edge per dependency, status in labels",
			stages: sample().Stages,
			want: []string{
				"graph TD\n",
				"  s0[\"base (cached)\"]\n",
				"  s2[\"test (failed)\"]\n",
				"  s0 --> s1\n  s1 --> s2\n  s1 --> s3\n",
				"  class s2 failed\n",
				"  class s3 skipped\n",
			},
		},
		{
			name: "stages listing: names only, base stage counts, duplicates and unknown deps dropped",
			stages: []result.Stage{
				{Name: "a"},
				{Name: "b", BaseStage: "a", DependsOn: []string{"a", "a", "golang:1.26", "missing"}},
				{Name: "c", DependsOn: []string{"b", "a"}},
			},
			want:     []string{"  s0[\"a\"]\n", "  s0 --> s1\n  s1 --> s2\n  s0 --> s2\n"},
			dontWant: []string{"s0 --> s1\n  s0 --> s1", "missing", "golang", "classDef"},
		},
		{
			name:     "labels are escaped, ids never come from names",
			stages:   []result.Stage{{Name: `x"] --> evil["#1 <b>` + "`\n"}},
			want:     []string{`  s0["x#quot;] --#gt; evil[#quot;#35;1 #lt;b#gt;#96; "]` + "\n"},
			dontWant: []string{"--> evil"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Mermaid(tc.stages)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("graph lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tc.dontWant {
				if strings.Contains(got, w) {
					t.Errorf("graph has %q:\n%s", w, got)
				}
			}
		})
	}
}
