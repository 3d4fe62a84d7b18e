// Command stagegate-bench is the driver of ./hack/bench (issue 8): it runs
// stagegate and the two-command baselines against one BuildKit daemon,
// alternating them, warm and cold, and writes the tables of
// docs/benchmarks.md (results.md) and every run (results.json).
//
// Every process is timed by Go (wall) and run under `/usr/bin/time -v` (peak
// RSS, user and system CPU).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/stagegate/stagegate/internal/testenv/daemonconfig"
	"io"
	"maps"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stagegate/stagegate/internal/bench"
)

type options struct {
	stagegate, buildctl, buildkitd, timeBin string
	// stagegateBefore, when set, is an earlier stagegate binary run beside
	// the current one (toolSGBefore), for before/after figures of one run.
	stagegateBefore                      string
	addr, registry                       string
	work, out                            string
	runs, scaleRuns, loudRuns, cacheRuns int
	phases                               map[string]bool
	scale                                string
	loudBytes                            int64
}

func main() {
	var o options
	var phases string
	flag.StringVar(&o.stagegate, "stagegate", "", "the stagegate binary (required)")
	flag.StringVar(&o.stagegateBefore, "stagegate-before", "", "an earlier stagegate binary to run beside -stagegate (sizes on) in the reference, cache and chain200 phases")
	flag.StringVar(&o.buildctl, "buildctl", os.Getenv("STAGEGATE_TEST_BUILDCTL"), "the buildctl binary")
	flag.StringVar(&o.buildkitd, "buildkitd", os.Getenv("STAGEGATE_TEST_BUILDKITD"), "the buildkitd binary (for the unlimited-log RSS run)")
	flag.StringVar(&o.timeBin, "time", "/usr/bin/time", "GNU time (Debian's time package)")
	flag.StringVar(&o.addr, "addr", os.Getenv("BUILDKIT_HOST"), "the BuildKit daemon every tool uses")
	flag.StringVar(&o.registry, "registry", os.Getenv("STAGEGATE_TEST_REGISTRY"), "the registry docker.io resolves to (for the private buildkitd)")
	flag.StringVar(&o.work, "work", filepath.Join(os.TempDir(), "stagegate-bench"), "where workloads are generated (kept between runs)")
	flag.StringVar(&o.out, "out", "", "where results.md, results.json and logs go (required)")
	flag.IntVar(&o.runs, "runs", 5, "runs of each tool, warm and cold, on the reference workload")
	flag.IntVar(&o.scaleRuns, "scale-runs", 3, "runs of each tool, warm and cold, per scaling point")
	flag.IntVar(&o.loudRuns, "loud-runs", 3, "runs of each variant of the loud (200 MB of output) workload")
	flag.IntVar(&o.cacheRuns, "cache-runs", 3, "runs of each tool per cache backend in the cache phase")
	flag.Int64Var(&o.loudBytes, "loud-bytes", 200_000_000, "bytes the loud workload's RUN prints")
	flag.StringVar(&phases, "phases", "reference,cache,chain200,loud,scale,docker", "phases to run: reference, cache (fresh daemon, imported cache), chain200 (200 stages, warm), loud, scale, docker")
	flag.StringVar(&o.scale, "scale", "default", "scaling points: default (2k/20k files, 5/50 stages), full (also 100k files and 200 stages)")
	reportOnly := flag.Bool("report-only", false, "only write -out's results.md again from its results.json")
	flag.Parse()
	if *reportOnly {
		if err := rewriteReport(o.out); err != nil {
			fatalf("%v", err)
		}
		return
	}
	if o.stagegate == "" || o.out == "" || o.buildctl == "" || o.addr == "" {
		fatalf("-stagegate, -out, -buildctl (STAGEGATE_TEST_BUILDCTL) and -addr (BUILDKIT_HOST) are required")
	}
	if o.runs < 1 || o.scaleRuns < 1 || o.loudRuns < 1 || o.cacheRuns < 1 {
		fatalf("-runs, -scale-runs, -loud-runs and -cache-runs must be at least 1")
	}
	if o.scale != "default" && o.scale != "full" {
		fatalf("-scale %q: expected default or full", o.scale)
	}
	o.phases = map[string]bool{}
	for _, p := range strings.Split(phases, ",") {
		switch p = strings.TrimSpace(p); p {
		case "reference", "cache", "chain200", "loud", "scale", "docker":
			o.phases[p] = true
		case "":
		default:
			fatalf("-phases: unknown phase %q", p)
		}
	}
	for _, d := range []string{o.work, o.out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			fatalf("%v", err)
		}
	}
	r := &runner{o: o}
	var err error
	if r.log, err = os.Create(filepath.Join(o.out, "runs.log")); err != nil {
		fatalf("%v", err)
	}
	r.results.Machine = machine(o)
	r.results.Options = map[string]any{"runs": o.runs, "scale_runs": o.scaleRuns, "loud_runs": o.loudRuns, "cache_runs": o.cacheRuns, "scale": o.scale, "phases": phases, "addr": o.addr, "loud_bytes": o.loudBytes}
	r.results.Started = time.Now().UTC()
	if err := r.main(); err != nil {
		r.save()
		fatalf("%v (logs: %s)", err, r.log.Name())
	}
	r.results.Finished = time.Now().UTC()
	r.save()
	md := r.markdown()
	if err := os.WriteFile(filepath.Join(o.out, "results.md"), []byte(md), 0o644); err != nil {
		fatalf("%v", err)
	}
	fmt.Print(md)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "stagegate-bench: "+format+"\n", args...)
	os.Exit(1)
}

// Run is one timed run of a tool (one or two processes).
type Run struct {
	Workload string  `json:"workload"`
	Tool     string  `json:"tool"`
	Mode     string  `json:"mode"` // warm, cold, or a loud variant
	Index    int     `json:"index"`
	Wall     float64 `json:"wall_seconds"`
	// Per process, in order (buildctl and buildx run two).
	Walls    []float64 `json:"process_wall_seconds"`
	MaxRSSKB int64     `json:"max_rss_kb"`
	UserCPU  float64   `json:"user_cpu_seconds"`
	SysCPU   float64   `json:"sys_cpu_seconds"`
	Load1    float64   `json:"load1_before"`
	// Stages is stagegate's per-stage status and duration, from its report.
	Stages string `json:"stages,omitempty"`
	// ReportSeconds is the duration stagegate's report gives.
	ReportSeconds float64 `json:"report_seconds,omitempty"`
	// OutputBytes counts what the tool printed (progress plain).
	OutputBytes int64 `json:"output_bytes,omitempty"`
}

type Results struct {
	Machine  map[string]string `json:"machine"`
	Options  map[string]any    `json:"options"`
	Started  time.Time         `json:"started"`
	Finished time.Time         `json:"finished"`
	Runs     []Run             `json:"runs"`
	Skipped  map[string]string `json:"skipped,omitempty"`
}

type runner struct {
	o       options
	log     *os.File
	results Results
}

func (r *runner) save() {
	dt, _ := json.MarshalIndent(r.results, "", "  ")
	_ = os.WriteFile(filepath.Join(r.o.out, "results.json"), dt, 0o644)
}

func (r *runner) logf(format string, args ...any) {
	msg := fmt.Sprintf(time.Now().Format("15:04:05 ")+format+"\n", args...)
	fmt.Fprint(os.Stderr, msg)
	fmt.Fprint(r.log, msg)
}

func (r *runner) skip(phase, why string) {
	if r.results.Skipped == nil {
		r.results.Skipped = map[string]string{}
	}
	r.results.Skipped[phase] = why
	r.logf("SKIPPED %s: %s", phase, why)
}

// workload is a generated build context.
type workload struct {
	name, dir string
	files     int
}

func (r *runner) contextWorkload(files int) (workload, error) {
	w := workload{name: fmt.Sprintf("context %s files", thousands(files)), dir: filepath.Join(r.o.work, fmt.Sprintf("ctx-%d", files)), files: files}
	t0 := time.Now()
	if err := bench.Context(w.dir, files); err != nil {
		return w, err
	}
	if err := bench.WriteDockerfile(w.dir, bench.ReferenceDockerfile(files)); err != nil {
		return w, err
	}
	r.logf("workload %s ready in %s (%s)", w.name, time.Since(t0).Round(time.Millisecond), w.dir)
	return w, nil
}

func (r *runner) chainWorkload(stages int) (workload, error) {
	w := workload{name: fmt.Sprintf("chain of %d stages", stages), dir: filepath.Join(r.o.work, fmt.Sprintf("chain-%d", stages))}
	return w, bench.WriteDockerfile(w.dir, bench.ChainDockerfile(stages))
}

// tool runs a workload once and returns the run (without its bookkeeping).
type tool struct {
	name string
	run  func(w workload, mode string) (Run, error)
	// prune makes its daemon cold.
	prune func() error
}

func thousands(n int) string {
	if n%1000 == 0 {
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.Itoa(n)
}

// proc is one process's measurement.
type proc struct {
	wall       float64
	rssKB      int64
	user, sys  float64
	outputSize int64
}

// countWriter counts bytes.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// timed runs argv under GNU time with env added to the environment (a value
// of "-" removes the variable). stdout and stderr are counted and, up to a
// bound, logged.
func (r *runner) timed(env map[string]string, argv ...string) (proc, error) {
	tf, err := os.CreateTemp("", "bench-time-")
	if err != nil {
		return proc{}, err
	}
	tf.Close()
	defer os.Remove(tf.Name())
	cmd := exec.Command(r.o.timeBin, append([]string{"-v", "-o", tf.Name()}, argv...)...)
	cmd.Env = environ(env)
	cw := &countWriter{}
	tail := &tailBuffer{max: 8 << 10}
	cmd.Stdout = io.MultiWriter(cw, tail)
	cmd.Stderr = io.MultiWriter(cw, tail)
	fmt.Fprintf(r.log, "$ %s\n", strings.Join(argv, " "))
	t0 := time.Now()
	err = cmd.Run()
	p := proc{wall: time.Since(t0).Seconds(), outputSize: cw.n}
	dt, _ := os.ReadFile(tf.Name())
	sc := bufio.NewScanner(bytes.NewReader(dt))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ": ")
		if !ok {
			continue
		}
		switch k {
		case "Maximum resident set size (kbytes)":
			p.rssKB, _ = strconv.ParseInt(v, 10, 64)
		case "User time (seconds)":
			p.user, _ = strconv.ParseFloat(v, 64)
		case "System time (seconds)":
			p.sys, _ = strconv.ParseFloat(v, 64)
		}
	}
	fmt.Fprintf(r.log, "  wall %.3fs rss %d KB user %.2fs sys %.2fs output %d bytes\n", p.wall, p.rssKB, p.user, p.sys, p.outputSize)
	if err != nil {
		fmt.Fprintf(r.log, "  FAILED: %v\n%s\n", err, tail.String())
		return p, fmt.Errorf("%s: %v; its last output:\n%s", strings.Join(argv, " "), err, tail.String())
	}
	return p, nil
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 2*t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	if len(t.b) > t.max {
		return string(t.b[len(t.b)-t.max:])
	}
	return string(t.b)
}

func environ(add map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := add[k]; ok {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range add {
		if v != "-" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func combine(ps ...proc) Run {
	var run Run
	for _, p := range ps {
		run.Walls = append(run.Walls, p.wall)
		run.MaxRSSKB = max(run.MaxRSSKB, p.rssKB)
		run.UserCPU += p.user
		run.SysCPU += p.sys
		run.OutputBytes += p.outputSize
	}
	return run
}

// stagegateTool runs `stagegate build --progress quiet --report-json FILE CONTEXT`
// against addr (or, with engine, the Docker Engine at DOCKER_HOST).
func (r *runner) stagegateTool(name string, sizes bool, env map[string]string, extra ...string) func(w workload, mode string) (Run, error) {
	return func(w workload, mode string) (Run, error) {
		reportPath := filepath.Join(r.o.out, "last-report.json")
		os.Remove(reportPath)
		bin := r.o.stagegate
		if name == toolSGBefore {
			bin = r.o.stagegateBefore
		}
		args := []string{bin, "build", "--progress", "quiet", "--report-json", reportPath}
		if !sizes {
			args = append(args, "--no-sizes")
		}
		args = append(args, extra...)
		args = append(args, w.dir)
		// stagegate remembers layers' uncompressed sizes in
		// $STAGEGATE_CACHE/layer-sizes.json: warm runs share one (filled by
		// the priming run); every cold run starts with an empty one, as on
		// a fresh CI runner.
		runEnv := maps.Clone(env)
		cacheDir := filepath.Join(r.o.work, "stagegate-cache")
		if mode == "cold" || mode == "cache" {
			cacheDir = filepath.Join(r.o.work, "stagegate-cache-cold")
			if err := os.RemoveAll(cacheDir); err != nil {
				return Run{}, err
			}
		}
		runEnv["STAGEGATE_CACHE"] = cacheDir
		t0 := time.Now()
		p, err := r.timed(runEnv, args...)
		wall := time.Since(t0).Seconds()
		if err != nil {
			return Run{}, err
		}
		run := combine(p)
		run.Wall = wall
		var rep struct {
			Result   string  `json:"result"`
			Duration float64 `json:"duration_seconds"`
			Stages   []struct {
				Name     string   `json:"name"`
				Status   string   `json:"status"`
				Duration float64  `json:"duration_seconds"`
				Size     *int64   `json:"size_bytes"`
				Warnings []string `json:"warnings"`
			} `json:"stages"`
			Warnings []string `json:"warnings"`
		}
		dt, err := os.ReadFile(reportPath)
		if err != nil {
			return Run{}, err
		}
		if err := json.Unmarshal(dt, &rep); err != nil {
			return Run{}, fmt.Errorf("%s: %w", reportPath, err)
		}
		if rep.Result != "passed" {
			return Run{}, fmt.Errorf("stagegate's build of %s did not pass: %s", w.name, dt)
		}
		var st []string
		cached := 0
		for _, s := range rep.Stages {
			st = append(st, fmt.Sprintf("%s:%s:%.1fs", s.Name, s.Status, s.Duration))
			if s.Status == "cached" {
				cached++
			}
			if sizes && s.Size == nil && s.Status != "skipped" {
				return Run{}, fmt.Errorf("stagegate measured no size for stage %s: %v", s.Name, rep.Warnings)
			}
		}
		if len(rep.Stages) > 10 {
			st = []string{fmt.Sprintf("%d stages, %d cached", len(rep.Stages), cached)}
		}
		run.Stages = strings.Join(st, " ")
		run.ReportSeconds = rep.Duration
		// A warm run must hit the cache everywhere; a cold run must not.
		switch {
		case mode == "warm" && cached != len(rep.Stages):
			return run, fmt.Errorf("a warm run of %s was not cached everywhere: %s", w.name, run.Stages)
		case mode == "cold" && cached > 0:
			return run, fmt.Errorf("a cold run of %s hit the cache: %s", w.name, run.Stages)
		}
		return run, nil
	}
}

// buildctlPair is the baseline: the test target, then the final target with
// an image output (not pushed).
func (r *runner) buildctlPair(w workload, _ string) (Run, error) {
	return r.buildctlTwo(r.o.addr, w)
}

// buildctlTwo runs the two builds of the baseline against addr, each with
// the extra flags.
func (r *runner) buildctlTwo(addr string, w workload, extra ...string) (Run, error) {
	common := append([]string{r.o.buildctl, "--addr", addr, "build", "--progress", "plain", "--frontend", "dockerfile.v0",
		"--local", "context=" + w.dir, "--local", "dockerfile=" + w.dir}, extra...)
	t0 := time.Now()
	p1, err := r.timed(nil, append(slices.Clip(common), "--opt", "target=test")...)
	if err != nil {
		return Run{}, err
	}
	p2, err := r.timed(nil, append(slices.Clip(common), "--opt", "target=final", "--output", "type=image,name=bench/final:latest")...)
	if err != nil {
		return Run{}, err
	}
	run := combine(p1, p2)
	run.Wall = time.Since(t0).Seconds()
	return run, nil
}

func (r *runner) buildctlPrune() error {
	_, err := r.timed(nil, r.o.buildctl, "--addr", r.o.addr, "prune", "--all")
	return err
}

func load1() float64 {
	dt, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(dt))
	if len(f) == 0 {
		return math.NaN()
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// alternate runs each tool n times in warm or cold mode, rotating the order
// every round so that no tool always runs first. Warm: one priming run of
// each first. Cold: the tool's prune before each of its runs.
func (r *runner) alternate(w workload, mode string, n int, tools []tool) error {
	if mode == "warm" {
		for _, t := range tools {
			r.logf("%s: priming %s", w.name, t.name)
			if _, err := t.run(w, "prime"); err != nil {
				return err
			}
		}
	}
	for i := range n {
		for j := range tools {
			t := tools[(i+j)%len(tools)]
			if mode == "cold" {
				if err := t.prune(); err != nil {
					return fmt.Errorf("prune: %w", err)
				}
				time.Sleep(500 * time.Millisecond)
			}
			l := load1()
			run, err := t.run(w, mode)
			if err != nil {
				return err
			}
			run.Workload, run.Tool, run.Mode, run.Index, run.Load1 = w.name, t.name, mode, i, l
			r.results.Runs = append(r.results.Runs, run)
			r.logf("%s %s %d/%d %-22s %7.2fs  rss %3d MB  load %.1f  %s", w.name, mode, i+1, n, t.name, run.Wall, run.MaxRSSKB/1024, l, run.Stages)
		}
		r.save()
	}
	return nil
}

const (
	toolSG       = "stagegate"
	toolSGBefore = "stagegate before (sizes)"
	toolSGNo     = "stagegate --no-sizes"
	toolBuildctl = "buildctl build ×2"
	toolSGEngine = "stagegate (engine)"
	toolBuildx   = "docker buildx build ×2"
)

func (r *runner) standardTools() []tool {
	env := map[string]string{"BUILDKIT_HOST": r.o.addr}
	tools := []tool{
		{name: toolSG, run: r.stagegateTool(toolSG, true, env), prune: r.buildctlPrune},
		{name: toolBuildctl, run: r.buildctlPair, prune: r.buildctlPrune},
		{name: toolSGNo, run: r.stagegateTool(toolSGNo, false, env), prune: r.buildctlPrune},
	}
	if r.o.stagegateBefore != "" {
		tools = append(tools, tool{name: toolSGBefore, run: r.stagegateTool(toolSGBefore, true, env), prune: r.buildctlPrune})
	}
	return tools
}

func (r *runner) main() error {
	if r.o.phases["reference"] || r.o.phases["scale"] {
		w, err := r.contextWorkload(20000)
		if err != nil {
			return err
		}
		if r.o.phases["reference"] {
			for _, mode := range []string{"warm", "cold"} {
				if err := r.alternate(w, mode, r.o.runs, r.standardTools()); err != nil {
					return err
				}
			}
		}
	}
	if r.o.phases["cache"] {
		if err := r.cacheImported(); err != nil {
			return err
		}
	}
	if r.o.phases["chain200"] && r.o.scale != "full" {
		w, err := r.chainWorkload(200)
		if err != nil {
			return err
		}
		if err := r.alternate(w, "warm", r.o.scaleRuns, r.standardTools()); err != nil {
			return err
		}
	}
	if r.o.phases["loud"] {
		if err := r.loud(); err != nil {
			return err
		}
	}
	if r.o.phases["scale"] {
		files := []int{2000}
		stages := []int{5, 50}
		if r.o.scale == "full" {
			files = append(files, 100000)
			stages = append(stages, 200)
		}
		var ws []workload
		for _, n := range files {
			w, err := r.contextWorkload(n)
			if err != nil {
				return err
			}
			ws = append(ws, w)
		}
		if !r.o.phases["reference"] {
			// The 20k point is the reference workload: run it here when the
			// reference phase did not.
			w, _ := r.contextWorkload(20000)
			ws = append(ws, w)
		}
		for _, n := range stages {
			w, err := r.chainWorkload(n)
			if err != nil {
				return err
			}
			ws = append(ws, w)
		}
		for _, w := range ws {
			for _, mode := range []string{"warm", "cold"} {
				if err := r.alternate(w, mode, r.o.scaleRuns, r.standardTools()); err != nil {
					return err
				}
			}
		}
	}
	if r.o.phases["docker"] {
		if err := r.docker(); err != nil {
			return err
		}
	}
	return nil
}

// loud measures peak RSS with a RUN that prints loudBytes: on the daemon
// under test (BuildKit's default log limits: 2 MiB per step, 200 kB/s), and
// on a buildkitd of the bench's own with the limits off, so that every byte
// reaches stagegate.
func (r *runner) loud() error {
	w := workload{name: fmt.Sprintf("RUN printing %d MB", r.o.loudBytes/1_000_000), dir: filepath.Join(r.o.work, "loud")}
	if err := bench.WriteDockerfile(w.dir, bench.LoudDockerfile(r.o.loudBytes)); err != nil {
		return err
	}
	nonce := 0
	variants := func(addr, daemon string) []tool {
		env := map[string]string{"BUILDKIT_HOST": addr, "STAGEGATE_CACHE": filepath.Join(r.o.work, "stagegate-cache")}
		next := func() string { nonce++; return fmt.Sprintf("%d-%d", time.Now().UnixNano(), nonce) }
		sg := func(progress string) func(workload, string) (Run, error) {
			return func(w workload, mode string) (Run, error) {
				args := []string{r.o.stagegate, "build", "--progress", progress, "--build-arg", "NONCE=" + next(), "--report-json", filepath.Join(r.o.out, "last-report.json"), w.dir}
				t0 := time.Now()
				p, err := r.timed(env, args...)
				run := combine(p)
				run.Wall = time.Since(t0).Seconds()
				return run, err
			}
		}
		bc := func(w workload, mode string) (Run, error) {
			t0 := time.Now()
			p, err := r.timed(nil, r.o.buildctl, "--addr", addr, "build", "--progress", "plain", "--frontend", "dockerfile.v0",
				"--local", "context="+w.dir, "--local", "dockerfile="+w.dir, "--opt", "target=test", "--opt", "build-arg:NONCE="+next())
			run := combine(p)
			run.Wall = time.Since(t0).Seconds()
			return run, err
		}
		return []tool{
			{name: "stagegate --progress quiet, " + daemon, run: sg("quiet")},
			{name: "stagegate --progress plain, " + daemon, run: sg("plain")},
			{name: "buildctl --progress plain (test target), " + daemon, run: bc},
		}
	}
	run := func(tools []tool) error {
		for i := range r.o.loudRuns {
			for _, t := range tools {
				l := load1()
				run, err := t.run(w, "loud")
				if err != nil {
					return err
				}
				run.Workload, run.Tool, run.Mode, run.Index, run.Load1 = w.name, t.name, "loud", i, l
				r.results.Runs = append(r.results.Runs, run)
				r.logf("%s %d/%d %-50s %7.2fs  rss %3d MB  printed %d bytes", w.name, i+1, r.o.loudRuns, t.name, run.Wall, run.MaxRSSKB/1024, run.OutputBytes)
			}
		}
		r.save()
		return nil
	}
	if err := run(variants(r.o.addr, "default log limits")); err != nil {
		return err
	}
	if r.o.buildkitd == "" || r.o.registry == "" {
		r.skip("loud-unlimited", "no buildkitd binary (STAGEGATE_TEST_BUILDKITD) or registry (STAGEGATE_TEST_REGISTRY) to start a daemon without log limits")
		return nil
	}
	addr, stop, err := r.startBuildkitd()
	if err != nil {
		return err
	}
	defer stop()
	return run(variants(addr, "no log limits"))
}

// startBuildkitd starts a buildkitd of the bench's own, with BuildKit's step
// log limits off, and returns its address and how to stop it (by pid).
func (r *runner) startBuildkitd() (string, func(), error) {
	dir, err := os.MkdirTemp("", "stagegate-bench-buildkitd-")
	if err != nil {
		return "", nil, err
	}
	addr := "unix://" + filepath.Join(dir, "buildkitd.sock")
	config := daemonconfig.Buildkitd(filepath.Join(dir, "root"), "overlayfs", r.o.registry)
	if err := os.WriteFile(filepath.Join(dir, "buildkitd.toml"), []byte(config), 0o644); err != nil {
		return "", nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "buildkitd.log"))
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(r.o.buildkitd, "--config", filepath.Join(dir, "buildkitd.toml"), "--addr", addr)
	cmd.Env = environ(map[string]string{"BUILDKIT_STEP_LOG_MAX_SIZE": "-1", "BUILDKIT_STEP_LOG_MAX_SPEED": "-1"})
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	r.logf("started buildkitd pid %d at %s (step log limits off)", cmd.Process.Pid, addr)
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logFile.Close()
		os.RemoveAll(dir)
		r.logf("stopped buildkitd pid %d", cmd.Process.Pid)
	}
	sock := strings.TrimPrefix(addr, "unix://")
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return addr, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, errors.New("the bench's buildkitd did not come up")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// docker compares stagegate with two `docker buildx build` on the Docker
// Engine at DOCKER_HOST, when there is one and the docker CLI has buildx.
func (r *runner) docker() error {
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		r.skip("docker", "DOCKER_HOST is not set: no Docker Engine to compare on")
		return nil
	}
	dockerBin, why := buildxCLI()
	if dockerBin == "" {
		r.skip("docker", why)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, dockerBin, "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		r.skip("docker", fmt.Sprintf("no Docker Engine answers at DOCKER_HOST=%s: %s", host, firstLine(out, err)))
		return nil
	}
	w, err := r.contextWorkload(20000)
	if err != nil {
		return err
	}
	prune := func() error {
		_, err := r.timed(nil, dockerBin, "builder", "prune", "--all", "--force")
		return err
	}
	buildx := func(w workload, _ string) (Run, error) {
		t0 := time.Now()
		p1, err := r.timed(nil, dockerBin, "buildx", "build", "--progress", "plain", "--target", "test", w.dir)
		if err != nil {
			return Run{}, err
		}
		p2, err := r.timed(nil, dockerBin, "buildx", "build", "--progress", "plain", "--target", "final", "-t", "bench/final:latest", w.dir)
		if err != nil {
			return Run{}, err
		}
		run := combine(p1, p2)
		run.Wall = time.Since(t0).Seconds()
		return run, nil
	}
	env := map[string]string{"BUILDKIT_HOST": "-", "DOCKER_HOST": host}
	w.name = "Docker Engine: " + w.name
	tools := []tool{
		{name: toolSGEngine, run: r.stagegateTool(toolSGEngine, true, env), prune: prune},
		{name: toolBuildx, run: buildx, prune: prune},
	}
	for _, mode := range []string{"warm", "cold"} {
		if err := r.alternate(w, mode, r.o.runs, tools); err != nil {
			return err
		}
	}
	return nil
}

func firstLine(out []byte, err error) string {
	s := strings.TrimSpace(string(out))
	if s == "" {
		return err.Error()
	}
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// machine describes where the bench ran.
func machine(o options) map[string]string {
	m := map[string]string{"go": runtime.Version(), "goarch": runtime.GOARCH}
	if dt, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(dt), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m["cpu"] = strings.TrimSpace(v)
				break
			}
		}
	}
	m["cores"] = strconv.Itoa(runtime.NumCPU())
	if dt, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(dt), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				f := strings.Fields(l)
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					m["ram"] = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
				}
			}
		}
	}
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		m["kernel"] = strings.TrimSpace(string(out))
	}
	// The binaries are built from modules without version stamps; the
	// version is in their cached names (hack/testenv's BUILDKIT_VERSION).
	m["buildkit"] = "buildkitd " + strings.TrimPrefix(filepath.Base(o.buildkitd), "buildkitd-")
	if out, err := exec.Command(o.buildctl, "--addr", o.addr, "debug", "info").Output(); err == nil {
		m["buildkit_info"] = strings.Join(strings.Fields(string(out)), " ")
	}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m["stagegate_commit"] = strings.TrimSpace(string(out))
		if out, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(out)) > 0 {
			var files []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				files = append(files, strings.TrimSpace(l[2:]))
			}
			m["stagegate_commit"] += " with uncommitted changes to " + strings.Join(files, ", ")
		}
	}
	m["load_at_start"] = strings.TrimSpace(readFile("/proc/loadavg"))
	return m
}

func readFile(p string) string { dt, _ := os.ReadFile(p); return string(dt) }

// rewriteReport writes dir/results.md again from dir/results.json.
func rewriteReport(dir string) error {
	dt, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		return err
	}
	r := &runner{}
	if err := json.Unmarshal(dt, &r.results); err != nil {
		return err
	}
	num := func(k string) int { f, _ := r.results.Options[k].(float64); return int(f) }
	r.o.runs, r.o.scaleRuns, r.o.loudRuns = num("runs"), num("scale_runs"), num("loud_runs")
	r.o.addr, _ = r.results.Options["addr"].(string)
	r.o.loudBytes = 200_000_000
	if f, ok := r.results.Options["loud_bytes"].(float64); ok {
		r.o.loudBytes = int64(f)
	}
	return os.WriteFile(filepath.Join(dir, "results.md"), []byte(r.markdown()), 0o644)
}
