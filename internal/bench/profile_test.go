package bench_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/stagegate/stagegate/internal/bench"
	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/gate"
	"github.com/stagegate/stagegate/internal/report"
	"github.com/stagegate/stagegate/internal/result"
)

// These tests are the in-process half of ./hack/bench. They run only when
// STAGEGATE_BENCH=1 (they take a minute and a 20,000-file context), against
// BUILDKIT_HOST:
//
//	STAGEGATE_BENCH_OUT      where profiles and summaries go (default: a temp dir)
//	STAGEGATE_BENCH_CONTEXT  the reference context (default: generated once in $TMPDIR)
//	STAGEGATE_BENCH_RUNS     profiled warm runs per variant (default 5)

func benchEnv(t *testing.T) (host, out, ctxDir string, runs int) {
	t.Helper()
	if os.Getenv("STAGEGATE_BENCH") != "1" {
		t.Skip("benchmark: set STAGEGATE_BENCH=1 (./hack/bench does)")
	}
	host = os.Getenv("BUILDKIT_HOST")
	if host == "" {
		t.Fatal("BUILDKIT_HOST is not set: eval \"$(./hack/testenv env)\"")
	}
	out = os.Getenv("STAGEGATE_BENCH_OUT")
	if out == "" {
		out = t.TempDir()
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	ctxDir = os.Getenv("STAGEGATE_BENCH_CONTEXT")
	if ctxDir == "" {
		ctxDir = filepath.Join(os.TempDir(), "stagegate-bench", "ref-20000")
		if err := bench.Context(ctxDir, 20000); err != nil {
			t.Fatal(err)
		}
		if err := bench.WriteDockerfile(ctxDir, bench.ReferenceDockerfile(20000)); err != nil {
			t.Fatal(err)
		}
	}
	runs = 5
	if v := os.Getenv("STAGEGATE_BENCH_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("STAGEGATE_BENCH_RUNS=%q", v)
		}
		runs = n
	}
	return host, out, ctxDir, runs
}

// cpuTime is the process's user and system CPU time.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runOnce is what `stagegate build --progress quiet --report-json FILE` does:
// gate.Run, then the table (to stdout, here discarded) and the JSON report.
func runOnce(t *testing.T, cfg *gate.Config, jsonPath string) *result.Result {
	t.Helper()
	res, err := gate.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Result != result.Passed {
		t.Fatalf("the reference build failed: %s", res.Error)
	}
	if err := report.Table(io.Discard, res); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteJSONFile(jsonPath, res); err != nil {
		t.Fatal(err)
	}
	return res
}

// category is a part of stagegate's own work that a CPU sample is charged to:
// the first category (in this order) any frame of its stack belongs to.
type category struct {
	name     string
	prefixes []string
}

var categories = []category{
	{"sizes: reading and gunzipping layers (internal/sizes)", []string{"github.com/stagegate/stagegate/internal/sizes."}},
	{"analysis (internal/dockerfile, gate.Analyze)", []string{"github.com/stagegate/stagegate/internal/dockerfile.", "github.com/stagegate/stagegate/internal/gate.Analyze"}},
	{"progress accounting and display (internal/progress, progressui)", []string{"github.com/stagegate/stagegate/internal/progress.", "github.com/moby/buildkit/util/progress/progressui."}},
	{"reporting (internal/report, result, redaction)", []string{"github.com/stagegate/stagegate/internal/report.", "github.com/stagegate/stagegate/internal/result.", "github.com/stagegate/stagegate/internal/redact.", "github.com/stagegate/stagegate/internal/gate.redactResult"}},
	{"context transfer: walking and sending the context (fsutil, filesync)", []string{"github.com/tonistiigi/fsutil.", "github.com/moby/buildkit/session/filesync."}},
	{"session and client.Build plumbing (buildkit client, session)", []string{"github.com/moby/buildkit/client.", "github.com/moby/buildkit/session.", "github.com/moby/buildkit/frontend/gateway/grpcclient."}},
	{"gRPC / HTTP/2 transport (unattributable: shared reader loops)", []string{"google.golang.org/grpc.", "golang.org/x/net/http2.", "google.golang.org/protobuf."}},
	{"Go runtime: GC, scheduler (unattributable)", []string{"runtime."}},
}

// trace is one stack of a CPU profile and its time.
type trace struct {
	value  time.Duration
	frames []string
}

// traces reads `go tool pprof -traces`.
func traces(t *testing.T, profile string) []trace {
	out, err := exec.Command("go", "tool", "pprof", "-traces", profile).Output()
	if err != nil {
		t.Fatalf("go tool pprof -traces: %v", err)
	}
	var ts []trace
	var cur *trace
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "-----------+") {
			cur = nil
			continue
		}
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.Contains(line, ":") && cur == nil && !strings.HasPrefix(line, " ") {
			continue
		}
		if cur == nil {
			if len(fields) < 2 {
				continue
			}
			d, err := time.ParseDuration(fields[0])
			if err != nil {
				continue
			}
			ts = append(ts, trace{value: d})
			cur = &ts[len(ts)-1]
			fields = fields[1:]
		}
		if strings.HasPrefix(fields[0], "bytes:") || strings.HasPrefix(fields[0], "label") {
			continue
		}
		cur.frames = append(cur.frames, fields[0])
	}
	return ts
}

func categorize(ts []trace) (map[string]time.Duration, time.Duration) {
	by := map[string]time.Duration{}
	var total time.Duration
	for _, tr := range ts {
		total += tr.value
		name := "other"
	find:
		for _, c := range categories {
			for _, f := range tr.frames {
				for _, p := range c.prefixes {
					if strings.HasPrefix(f, p) {
						name = c.name
						break find
					}
				}
			}
		}
		by[name] += tr.value
	}
	return by, total
}

type variantSummary struct {
	Variant     string             `json:"variant"`
	Runs        int                `json:"runs"`
	WallSeconds []float64          `json:"wall_seconds"`
	CPUSeconds  []float64          `json:"cpu_seconds"`
	CPUShare    float64            `json:"cpu_share_of_wall"`
	Profile     string             `json:"profile"`
	SampledCPU  float64            `json:"sampled_cpu_seconds"`
	Categories  map[string]float64 `json:"categories_seconds"`
	Top         string             `json:"top"`
}

// TestWarmProfile profiles stagegate's own process over warm runs of the
// reference workload, in process (gate.Run plus the table and the JSON
// report, as the CLI does), with and without sizes. It reports the process's
// CPU time as a share of the runs' wall time and where that CPU time goes.
func TestWarmProfile(t *testing.T) {
	host, out, ctxDir, runs := benchEnv(t)
	var summaries []variantSummary
	for _, skipSizes := range []bool{false, true} {
		variant := "sizes"
		if skipSizes {
			variant = "no-sizes"
		}
		cfg := &gate.Config{
			ContextDir: ctxDir,
			SkipSizes:  skipSizes,
			// As the CLI: layer sizes remembered between runs.
			LayerCachePath: filepath.Join(out, "layer-sizes.json"),
			TestMode:       gate.TestModeAuto,
			Progress:       progressui.QuietMode,
			Out:            io.Discard,
			Connect:        build.ConnectOptions{Host: host},
		}
		jsonPath := filepath.Join(out, "profile-report-"+variant+".json")
		runOnce(t, cfg, jsonPath) // primes the cache
		profile := filepath.Join(out, "cpu-warm-"+variant+".pprof")
		f, err := os.Create(profile)
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		s := variantSummary{Variant: variant, Runs: runs, Profile: profile}
		var wall, cpu time.Duration
		for range runs {
			c0, w0 := cpuTime(t), time.Now()
			res := runOnce(t, cfg, jsonPath)
			dw, dc := time.Since(w0), cpuTime(t)-c0
			wall += dw
			cpu += dc
			s.WallSeconds = append(s.WallSeconds, dw.Seconds())
			s.CPUSeconds = append(s.CPUSeconds, dc.Seconds())
			for _, st := range res.Stages {
				if st.Status != result.StatusCached {
					t.Errorf("warm run: stage %s is %s, not cached", st.Name, st.Status)
				}
			}
		}
		pprof.StopCPUProfile()
		f.Close()
		s.CPUShare = cpu.Seconds() / wall.Seconds()
		by, total := categorize(traces(t, profile))
		s.SampledCPU = total.Seconds()
		s.Categories = map[string]float64{}
		for k, v := range by {
			s.Categories[k] = v.Seconds()
		}
		top, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=25", profile).Output()
		if err != nil {
			t.Fatalf("go tool pprof -top: %v", err)
		}
		s.Top = string(top)
		cum, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=40", profile).Output()
		if err != nil {
			t.Fatalf("go tool pprof -top -cum: %v", err)
		}
		if err := os.WriteFile(filepath.Join(out, "cpu-warm-"+variant+".top.txt"), append(append(top, "\n--- cumulative ---\n"...), cum...), 0o644); err != nil {
			t.Fatal(err)
		}
		summaries = append(summaries, s)
	}
	var md strings.Builder
	for _, s := range summaries {
		fmt.Fprintf(&md, "### Warm run, %s: stagegate's own CPU\n\n", s.Variant)
		fmt.Fprintf(&md, "%d warm runs in process: median wall %.2f s, median CPU (user+sys) %.3f s; CPU / wall = %.1f %% (the whole process: the client-side context walk and gRPC included)\n\n",
			s.Runs, bench.Median(s.WallSeconds), bench.Median(s.CPUSeconds), 100*s.CPUShare)
		fmt.Fprintf(&md, "| where the CPU goes (%.2f s sampled over %d runs) | CPU s per run | share of wall |\n| --- | ---: | ---: |\n", s.SampledCPU, s.Runs)
		names := []string{"other"}
		for _, c := range categories {
			names = append(names, c.name)
		}
		slices.SortFunc(names, func(a, b string) int {
			if s.Categories[a] > s.Categories[b] {
				return -1
			}
			if s.Categories[a] < s.Categories[b] {
				return 1
			}
			return strings.Compare(a, b)
		})
		wall := 0.0
		for _, w := range s.WallSeconds {
			wall += w
		}
		for _, k := range names {
			if s.Categories[k] == 0 {
				fmt.Fprintf(&md, "| %s | no sample (< 0.01 s in all %d runs) | ~0 %% |\n", k, s.Runs)
				continue
			}
			fmt.Fprintf(&md, "| %s | %.3f | %.2f %% |\n", k, s.Categories[k]/float64(s.Runs), 100*s.Categories[k]/wall)
		}
		own := 0.0
		for _, c := range categories[1:4] {
			own += s.Categories[c.name]
		}
		fmt.Fprintf(&md, "\nstagegate's own logic (analysis + progress accounting + reporting): %.3f s per run = **%.2f %%** of the wall time (goal < 5 %%).\n", own/float64(s.Runs), 100*own/wall)
		fmt.Fprintf(&md, "\nTop functions (flat):\n\n```\n%s```\n\n", topLines(s.Top, 18))
	}
	if err := os.WriteFile(filepath.Join(out, "profile.md"), []byte(md.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	dt, _ := json.MarshalIndent(summaries, "", "  ")
	if err := os.WriteFile(filepath.Join(out, "profile.json"), dt, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", md.String())
}

// topLines keeps the header and the first n rows of `pprof -top`.
func topLines(top string, n int) string {
	lines := strings.Split(top, "\n")
	var keep []string
	rows := -1
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "flat ") {
			rows = 0
			keep = append(keep, l)
			continue
		}
		if rows < 0 {
			if strings.HasPrefix(l, "Duration") || strings.HasPrefix(l, "Showing nodes") {
				keep = append(keep, l)
			}
			continue
		}
		if rows < n && l != "" {
			keep = append(keep, l)
			rows++
		}
	}
	return strings.Join(keep, "\n") + "\n"
}
