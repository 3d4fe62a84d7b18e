package bench_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/content/proxy"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stagegate/stagegate/internal/bench"
	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/gate"
	"github.com/stagegate/stagegate/internal/report"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/sizes"
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
		fmt.Fprintf(&md, "%d warm runs in process: median wall %.2f s, median CPU (user+sys) %.3f s; CPU / wall = **%.1f %%** (goal < 5 %%)\n\n",
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
		fmt.Fprintf(&md, "\nstagegate's own logic (analysis + progress accounting + reporting): %.3f s per run = **%.2f %%** of the wall time.\n", own/float64(s.Runs), 100*own/wall)
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

// TestSizingBreakdown times each part of what measuring the reference
// workload's stages costs, cold (after `buildctl prune --all` and a build
// without sizes, as a cold `stagegate build` is when measure starts) and warm.
// Per stage: the extra client.Build that solves it without an export; the
// same with the image export measure() makes (gzip, the default); the same
// with an uncompressed export (what an exporter without gzip would cost:
// the first cold pass does not make it, the last makes only it); reading
// the layers back as sizes.Meter does (one Meter for the run, as measure);
// and, warm, reading the compressed layers raw in 32 kB and 4 MiB ReadAt
// calls.
func TestSizingBreakdown(t *testing.T) {
	host, out, ctxDir, _ := benchEnv(t)
	buildctl := os.Getenv("STAGEGATE_TEST_BUILDCTL")
	if buildctl == "" {
		t.Fatal("STAGEGATE_TEST_BUILDCTL is not set (the cold passes prune with it)")
	}
	ctx := context.Background()
	b, err := build.Connect(ctx, build.ConnectOptions{Host: host})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	job, err := b.NewJob(ctx, build.Request{
		ContextDir: ctxDir, DockerfilePath: filepath.Join(ctxDir, "Dockerfile"), Target: "final",
		FrontendAttrs: map[string]string{}, ExtraLocals: map[string]string{},
	})
	if err != nil {
		t.Fatal(err)
	}
	store := proxy.NewContentStore(b.Client.ContentClient())
	gzipExport := []client.ExportEntry{{Type: client.ExporterImage, Attrs: map[string]string{}}}
	plainExport := []client.ExportEntry{{Type: client.ExporterImage, Attrs: map[string]string{"compression": "uncompressed", "force-compression": "true"}}}
	var md strings.Builder
	md.WriteString("| pass | stage | solve, no export | + gzip image export (as measure) | + uncompressed export | read back + gunzip (sizes.Meter) | raw read, 32 kB ReadAt | raw read, 4 MiB ReadAt | compressed / uncompressed MB |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	pass := func(name string, cold, gz, plain, raw bool) {
		if cold {
			if out, err := exec.Command(buildctl, "--addr", host, "prune", "--all").CombinedOutput(); err != nil {
				t.Fatalf("prune: %v\n%s", err, out)
			}
			t0 := time.Now()
			runOnce(t, &gate.Config{ContextDir: ctxDir, SkipSizes: true, Progress: progressui.QuietMode, Out: io.Discard, Connect: build.ConnectOptions{Host: host}}, filepath.Join(out, "breakdown-report.json"))
			fmt.Fprintf(&md, "| %s | (cold build, --no-sizes: %.2f s) | | | | | | | |\n", name, time.Since(t0).Seconds())
		}
		meter := sizes.NewMeterFromProvider(store, nil)
		var tot [6]float64
		for _, stage := range []string{"base", "build", "test", "final"} {
			row := []string{name, stage}
			t0 := time.Now()
			if _, err := job.ExportStage(ctx, stage, nil, nil); err != nil {
				t.Fatal(err)
			}
			tot[0] += time.Since(t0).Seconds()
			row = append(row, fmt.Sprintf("%.2f s", time.Since(t0).Seconds()))
			var compressed, uncompressed int64
			cell := func(v float64, i int) string { tot[i] += v; return fmt.Sprintf("%.2f s", v) }
			var desc ocispecs.Descriptor
			if gz {
				t0 = time.Now()
				resp, err := job.ExportStage(ctx, stage, nil, gzipExport)
				if err != nil {
					t.Fatal(err)
				}
				row = append(row, cell(time.Since(t0).Seconds(), 1))
				if desc, err = sizes.Descriptor(resp); err != nil {
					t.Fatal(err)
				}
			} else {
				row = append(row, "–")
			}
			if plain {
				t0 = time.Now()
				resp, err := job.ExportStage(ctx, stage, nil, plainExport)
				if err != nil {
					t.Fatal(err)
				}
				row = append(row, cell(time.Since(t0).Seconds(), 2))
				pd, err := sizes.Descriptor(resp)
				if err != nil {
					t.Fatal(err)
				}
				var mf ocispecs.Manifest
				readJSON(t, ctx, store, manifestOf(t, ctx, store, pd), &mf)
				for _, l := range mf.Layers {
					uncompressed += l.Size
				}
			} else {
				row = append(row, "–")
			}
			if gz {
				t0 = time.Now()
				size, err := meter.Image(ctx, desc)
				if err != nil {
					t.Fatal(err)
				}
				row = append(row, cell(time.Since(t0).Seconds(), 3))
				if plain && size.Uncompressed != uncompressed {
					t.Errorf("stage %s: the Meter says %d bytes uncompressed, the uncompressed export's layers hold %d", stage, size.Uncompressed, uncompressed)
				}
				compressed, uncompressed = size.Compressed, size.Uncompressed
			} else {
				row = append(row, "–")
			}
			if raw && gz {
				var mf ocispecs.Manifest
				readJSON(t, ctx, store, manifestOf(t, ctx, store, desc), &mf)
				for i, chunk := range []int{32 << 10, 4 << 20} {
					t0 = time.Now()
					for _, l := range mf.Layers {
						readRaw(t, ctx, store, l, chunk)
					}
					dt := time.Since(t0).Seconds()
					tot[4+i] += dt
					row = append(row, fmt.Sprintf("%.2f s (%.0f MB/s)", dt, float64(compressed)/1e6/dt))
				}
			} else {
				row = append(row, "–", "–")
			}
			row = append(row, fmt.Sprintf("%.1f / %.1f", float64(compressed)/1e6, float64(uncompressed)/1e6))
			md.WriteString("| " + strings.Join(row, " | ") + " |\n")
		}
		fmt.Fprintf(&md, "| %s | **all** | %.2f s | %.2f s | %.2f s | %.2f s | %.2f s | %.2f s | |\n", name, tot[0], tot[1], tot[2], tot[3], tot[4], tot[5])
	}
	// Gzip first: an export without force-compression reuses whatever blob
	// a layer already has, uncompressed ones included.
	pass("cold", true, true, false, false)
	pass("warm", false, true, true, true)
	pass("cold, uncompressed export only", true, false, true, false)
	// Leave no uncompressed-only layers behind for the next gzip export.
	if out, err := exec.Command(buildctl, "--addr", host, "prune", "--all").CombinedOutput(); err != nil {
		t.Fatalf("prune: %v\n%s", err, out)
	}
	md.WriteString("\nThe final stage's row is for reference: measure() exports no extra image for it (it reads the build's own export), but does read its layers back.\n")
	if err := os.WriteFile(filepath.Join(out, "sizing-breakdown.md"), []byte(md.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", md.String())
}

// readRaw reads a blob through the content API in chunk-sized ReadAt calls.
func readRaw(t *testing.T, ctx context.Context, store content.Provider, desc ocispecs.Descriptor, chunk int) {
	t.Helper()
	ra, err := store.ReaderAt(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	defer ra.Close()
	buf := make([]byte, chunk)
	for off := int64(0); off < ra.Size(); {
		n, err := ra.ReadAt(buf[:min(int64(chunk), ra.Size()-off)], off)
		off += int64(n)
		if err != nil && !(errors.Is(err, io.EOF) && off == ra.Size()) {
			t.Fatal(err)
		}
	}
}

func manifestOf(t *testing.T, ctx context.Context, store content.Provider, desc ocispecs.Descriptor) ocispecs.Descriptor {
	t.Helper()
	if desc.MediaType != ocispecs.MediaTypeImageIndex && desc.MediaType != "application/vnd.docker.distribution.manifest.list.v2+json" {
		return desc
	}
	var idx ocispecs.Index
	readJSON(t, ctx, store, desc, &idx)
	for _, d := range idx.Manifests {
		if d.Annotations["vnd.docker.reference.type"] != "attestation-manifest" {
			return d
		}
	}
	t.Fatal("no image manifest in the index")
	return ocispecs.Descriptor{}
}

func readJSON(t *testing.T, ctx context.Context, store content.Provider, desc ocispecs.Descriptor, v any) {
	t.Helper()
	dt, err := content.ReadBlob(ctx, store, desc)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(dt, v); err != nil {
		t.Fatal(err)
	}
}

// TestChainSizing times, warm, the extra client.Build that measure() makes
// for one stage of a chain, at several depths of the chain in
// STAGEGATE_BENCH_CHAIN (a directory with a ChainDockerfile): solving it
// without an export, with the image export, and reading its image back with a
// Meter that already read the stage before it (as measure's shared Meter has).
func TestChainSizing(t *testing.T) {
	host, out, _, _ := benchEnv(t)
	dir := os.Getenv("STAGEGATE_BENCH_CHAIN")
	if dir == "" {
		t.Skip("STAGEGATE_BENCH_CHAIN is not set")
	}
	ctx := context.Background()
	g, err := gate.Analyze(&gate.Config{ContextDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	n := len(g.Stages)
	runOnce(t, &gate.Config{ContextDir: dir, SkipSizes: true, Progress: progressui.QuietMode, Out: io.Discard, Connect: build.ConnectOptions{Host: host}}, filepath.Join(out, "chain-report.json"))
	b, err := build.Connect(ctx, build.ConnectOptions{Host: host})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	job, err := b.NewJob(ctx, build.Request{
		ContextDir: dir, DockerfilePath: filepath.Join(dir, "Dockerfile"), Target: "final",
		FrontendAttrs: map[string]string{}, ExtraLocals: map[string]string{},
	})
	if err != nil {
		t.Fatal(err)
	}
	meter := sizes.NewMeterFromProvider(proxy.NewContentStore(b.Client.ContentClient()), nil)
	export := []client.ExportEntry{{Type: client.ExporterImage, Attrs: map[string]string{}}}
	var md strings.Builder
	fmt.Fprintf(&md, "| stage (depth of %d) | solve, no export | + gzip image export | read back (Meter, previous stage already read) | layers |\n| --- | ---: | ---: | ---: | ---: |\n", n)
	for _, depth := range []int{2, n / 4, n / 2, n - 3} {
		prev, st := g.Stages[depth-1], g.Stages[depth]
		resp, err := job.ExportStage(ctx, prev.Name, nil, export)
		if err != nil {
			t.Fatal(err)
		}
		desc, _ := sizes.Descriptor(resp)
		if _, err := meter.Image(ctx, desc); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		if _, err := job.ExportStage(ctx, st.Name, nil, nil); err != nil {
			t.Fatal(err)
		}
		solve := time.Since(t0)
		t0 = time.Now()
		resp, err = job.ExportStage(ctx, st.Name, nil, export)
		if err != nil {
			t.Fatal(err)
		}
		exp := time.Since(t0)
		desc, _ = sizes.Descriptor(resp)
		t0 = time.Now()
		size, err := meter.Image(ctx, desc)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&md, "| %s (%d) | %.3f s | %.3f s | %.3f s | %d |\n", st.Name, depth+1, solve.Seconds(), exp.Seconds(), time.Since(t0).Seconds(), size.Layers)
	}
	if err := os.WriteFile(filepath.Join(out, "chain-sizing.md"), []byte(md.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", md.String())
}
