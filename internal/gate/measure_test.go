package gate

import (
	"fmt"
	"testing"

	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/stagesize"
)

func TestSetSizes(t *testing.T) {
	rows := func() *result.Result {
		return &result.Result{
			Image: &result.Image{},
			Stages: []result.Stage{
				{Name: "base"},
				{Name: "build", BaseStage: "base", Platform: "linux/amd64"},
				{Name: "build", BaseStage: "base"},
				{Name: "final", BaseStage: "build", Roles: []result.Role{result.RoleTarget}},
				{Name: "skipped", BaseStage: "base"},
			},
		}
	}
	size := func(n int64, compressed ...int64) *stagesize.Size {
		s := &stagesize.Size{Uncompressed: n, Layers: int(n / 10)}
		if len(compressed) > 0 {
			s.Compressed = &compressed[0]
		}
		return s
	}
	str := func(p *int64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	tests := []struct {
		name  string
		rows  []int
		sizes []*stagesize.Size
		// want is each row's size/compressed/delta/layers, then the image's
		// size/compressed.
		want []string
	}{
		{"sizes, deltas on the same platform, the final image's",
			[]int{0, 1, 2, 3}, []*stagesize.Size{size(100), size(150), size(120), size(130, 60)},
			[]string{"100/-/-/10", "150/-/-/15", "120/-/20/12", "130/60/10/13", "-/-/-/-", "130/60"}},
		{"unknown sizes: no delta from them",
			[]int{0, 2, 3}, []*stagesize.Size{nil, size(120), nil},
			[]string{"-/-/-/-", "-/-/-/-", "120/-/-/12", "-/-/-/-", "-/-/-/-", "-/-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := rows()
			setSizes(res, tt.rows, tt.sizes)
			var got []string
			for _, st := range res.Stages {
				layers := "-"
				if st.Layers != nil {
					layers = fmt.Sprint(*st.Layers)
				}
				got = append(got, str(st.Size)+"/"+str(st.CompressedSize)+"/"+str(st.BaseDelta)+"/"+layers)
			}
			got = append(got, str(res.Image.Size)+"/"+str(res.Image.CompressedSize))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
