package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestChainDockerfile(t *testing.T) {
	df := ChainDockerfile(5)
	if n := strings.Count(df, "FROM "); n != 5 {
		t.Fatalf("%d stages, want 5:\n%s", n, df)
	}
	for _, want := range []string{"FROM busybox AS base", "FROM base AS s002", "FROM s003 AS test", "FROM s003 AS final"} {
		if !strings.Contains(df, want) {
			t.Errorf("no %q in\n%s", want, df)
		}
	}
}

func TestContext(t *testing.T) {
	dir := t.TempDir()
	if err := Context(dir, 450); err != nil {
		t.Fatal(err)
	}
	var files, bytes int
	err := filepath.Walk(filepath.Join(dir, "src"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			files++
			bytes += int(fi.Size())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != 450 || bytes != 450*FileSize {
		t.Fatalf("%d files, %d bytes; want 450 of %d", files, bytes, FileSize)
	}
}

func TestMedianRatios(t *testing.T) {
	if m := Median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median %v", m)
	}
	if m := Median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median %v", m)
	}
	if r := Ratios([]float64{1, 3}, []float64{2, 4}); r[0] != 0.5 || r[1] != 0.75 {
		t.Errorf("ratios %v", r)
	}
}
