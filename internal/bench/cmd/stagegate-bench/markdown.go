package main

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/stagegate/stagegate/internal/bench"
)

// walls returns the wall times of a tool's runs of a workload in a mode, by
// round index (so that rounds pair up).
func (r *runner) walls(workload, tool, mode string) []float64 {
	var runs []Run
	for _, run := range r.results.Runs {
		if run.Workload == workload && run.Tool == tool && run.Mode == mode {
			runs = append(runs, run)
		}
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Index < runs[j].Index })
	var w []float64
	for _, run := range runs {
		w = append(w, run.Wall)
	}
	return w
}

func (r *runner) cpu(workload, tool, mode string) []float64 {
	var v []float64
	for _, run := range r.results.Runs {
		if run.Workload == workload && run.Tool == tool && run.Mode == mode {
			v = append(v, run.UserCPU+run.SysCPU)
		}
	}
	return v
}

func (r *runner) rss(workload, tool string, modes ...string) []float64 {
	var v []float64
	for _, run := range r.results.Runs {
		if run.Workload == workload && run.Tool == tool && slices.Contains(modes, run.Mode) {
			v = append(v, float64(run.MaxRSSKB)/1024)
		}
	}
	return v
}

func secs(xs []float64) string {
	if len(xs) == 0 {
		return "–"
	}
	lo, hi := bench.MinMax(xs)
	if len(xs) == 1 {
		return fmt.Sprintf("%.2f s", xs[0])
	}
	return fmt.Sprintf("**%.2f s** (%.2f–%.2f)", bench.Median(xs), lo, hi)
}

func ratio(a, b []float64) string {
	rs := bench.Ratios(a, b)
	if len(rs) == 0 {
		return "–"
	}
	lo, hi := bench.MinMax(rs)
	return fmt.Sprintf("**%.2f** (%.2f–%.2f)", bench.Median(rs), lo, hi)
}

func med(xs []float64) float64 { return bench.Median(xs) }

func mb(xs []float64) string {
	if len(xs) == 0 {
		return "–"
	}
	lo, hi := bench.MinMax(xs)
	return fmt.Sprintf("%.0f MB (median %.0f, min %.0f)", hi, bench.Median(xs), lo)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func (r *runner) markdown() string {
	var b strings.Builder
	m := r.results.Machine
	fmt.Fprintf(&b, "## Machine\n\n| | |\n| --- | --- |\n")
	for _, k := range []string{"cpu", "cores", "ram", "kernel", "buildkit", "buildkit_info", "go", "stagegate_commit", "load_at_start"} {
		if m[k] != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", k, m[k])
		}
	}
	fmt.Fprintf(&b, "| daemon | `%s` (one buildkitd for every tool) |\n", r.o.addr)
	fmt.Fprintf(&b, "| run | %s → %s; runs %d (reference), %d (scaling), %d (loud) |\n\n",
		r.results.Started.Format("2006-01-02 15:04 UTC"), r.results.Finished.Format("15:04 UTC"), r.o.runs, r.o.scaleRuns, r.o.loudRuns)

	ref := "context 20k files"
	goals := [][3]string{}
	if len(r.walls(ref, toolSG, "warm")) > 0 {
		fmt.Fprintf(&b, "## Reference workload: 20,000 files (80 MB), base → build → test → final\n\n")
		fmt.Fprintf(&b, "Wall time, median (min–max) of %d runs; ratios are taken pair by pair (same round), then their median.\n\n", r.o.runs)
		fmt.Fprintf(&b, "| | stagegate (sizes) | stagegate --no-sizes | buildctl build ×2 | stagegate / buildctl | --no-sizes / buildctl |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
		for _, mode := range []string{"warm", "cold"} {
			sg, no, bc := r.walls(ref, toolSG, mode), r.walls(ref, toolSGNo, mode), r.walls(ref, toolBuildctl, mode)
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", mode, secs(sg), secs(no), secs(bc), ratio(sg, bc), ratio(no, bc))
		}
		if bf := r.walls(ref, toolSGBefore, "warm"); len(bf) > 0 {
			b.WriteString("\n**Before** (`-stagegate-before`, the earlier binary, sizes on, in the same rounds): ")
			for i, mode := range []string{"warm", "cold"} {
				if i > 0 {
					b.WriteString("; ")
				}
				bf := r.walls(ref, toolSGBefore, mode)
				fmt.Fprintf(&b, "%s %s, ratio to buildctl %s", mode, secs(bf), ratio(bf, r.walls(ref, toolBuildctl, mode)))
			}
			coldBf := r.walls(ref, toolSGBefore, "cold")
			fmt.Fprintf(&b, "; its sizes cost %.2f s cold (before minus --no-sizes, pair by pair).\n", med(bench.Diffs(coldBf, r.walls(ref, toolSGNo, "cold"))))
		}
		fmt.Fprintf(&b, "\nClient process CPU (user + system, GNU time; median): ")
		for i, mode := range []string{"warm", "cold"} {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s: stagegate %.2f s, --no-sizes %.2f s, buildctl ×2 %.2f s", mode,
				med(r.cpu(ref, toolSG, mode)), med(r.cpu(ref, toolSGNo, mode)), med(r.cpu(ref, toolBuildctl, mode)))
		}
		b.WriteString(".\n")
		warmSG, warmNo, warmBC := r.walls(ref, toolSG, "warm"), r.walls(ref, toolSGNo, "warm"), r.walls(ref, toolBuildctl, "warm")
		coldSG, coldNo, coldBC := r.walls(ref, toolSG, "cold"), r.walls(ref, toolSGNo, "cold"), r.walls(ref, toolBuildctl, "cold")
		warmCost, coldCost := bench.Diffs(warmSG, warmNo), bench.Diffs(coldSG, coldNo)
		costShare := med(coldCost) / med(coldNo)
		fmt.Fprintf(&b, "\n**Cost of the sizes** (stagegate minus stagegate --no-sizes, pair by pair, median): warm %.2f s, cold %.2f s = **%.0f %%** of a cold build without sizes (%.2f s).\n\n",
			med(warmCost), med(coldCost), 100*costShare, med(coldNo))
		rssSG := r.rss(ref, toolSG, "warm", "cold")
		rssBC := r.rss(ref, toolBuildctl, "warm", "cold")
		fmt.Fprintf(&b, "**Peak RSS** (GNU time's maximum resident set size over every warm and cold run): stagegate %s; stagegate --no-sizes %s; buildctl %s.\n\n",
			mb(rssSG), mb(r.rss(ref, toolSGNo, "warm", "cold")), mb(rssBC))
		wr, cr := med(bench.Ratios(warmSG, warmBC)), med(bench.Ratios(coldSG, coldBC))
		goals = append(goals,
			[3]string{"warm ratio stagegate / two buildctl builds ≤ 0.6", fmt.Sprintf("%.2f (with sizes); %.2f with --no-sizes", wr, med(bench.Ratios(warmNo, warmBC))), verdict(wr <= 0.6)},
			[3]string{"cold ratio ≤ 1.05, sizes included", fmt.Sprintf("%.2f (with sizes); %.2f with --no-sizes", cr, med(bench.Ratios(coldNo, coldBC))), verdict(cr <= 1.05)},
			[3]string{"sizes cost < 10 % of a cold build", fmt.Sprintf("%.0f %% (%.2f s of %.2f s)", 100*costShare, med(coldCost), med(coldNo)), verdict(costShare < 0.10)},
			[3]string{"peak RSS < 80 MB on the reference workload", fmt.Sprintf("%.0f MB", maxOf(rssSG)), verdict(maxOf(rssSG) < 80)},
		)
	}

	// Cache imported.
	cacheW := "cache-imported " + ref
	for _, backend := range cacheBackends {
		mode := "cache " + backend
		sg, no, bc, bx := r.walls(cacheW, toolSG, mode), r.walls(cacheW, toolSGNo, mode), r.walls(cacheW, toolBuildctlCache, mode), r.walls(cacheW, toolBuildxCache, mode)
		if len(sg) == 0 {
			continue
		}
		fmt.Fprintf(&b, "## Fresh daemon, %s cache of the previous commit imported, one file changed\n\n", backend)
		fmt.Fprintf(&b, "Each run: a fresh buildkitd exports the cache of commit A (`stagegate --no-sizes --cache-to type=%s,mode=max`, the same seed for every tool); another fresh buildkitd builds commit B (`src/d0000/f000` changed) with `--cache-from` that cache, timed. Wall time, median (min–max) of %d runs; ratios pair by pair.\n\n", backend, r.o.cacheRuns)
		fmt.Fprintf(&b, "| stagegate (sizes) | stagegate --no-sizes | buildctl build ×2 | docker buildx build ×2 | stagegate / buildctl | stagegate / buildx | --no-sizes / buildctl |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n\n", secs(sg), secs(no), secs(bc), secs(bx), ratio(sg, bc), ratio(sg, bx), ratio(no, bc))
		if bf := r.walls(cacheW, toolSGBefore, mode); len(bf) > 0 {
			fmt.Fprintf(&b, "**Before** (the earlier binary, sizes on, same rounds): %s; ratio to buildctl %s, to buildx %s.\n\n", secs(bf), ratio(bf, bc), ratio(bf, bx))
		}
		rc := med(bench.Ratios(sg, bc))
		measured := fmt.Sprintf("%.2f against buildctl", rc)
		ok := rc <= 0.8
		if len(bx) > 0 {
			rx := med(bench.Ratios(sg, bx))
			measured += fmt.Sprintf(", %.2f against buildx", rx)
			ok = ok && rx <= 0.8
		}
		goals = append(goals, [3]string{fmt.Sprintf("fresh daemon + %s cache, one file changed, sizes on: ≤ 0.8 × two builds with the same cache", backend), measured, verdict(ok)})
	}
	chain := "chain of 200 stages"
	if sg, bc := r.walls(chain, toolSG, "warm"), r.walls(chain, toolBuildctl, "warm"); len(sg) > 0 {
		rc := med(bench.Ratios(sg, bc))
		measured := fmt.Sprintf("%.2f (%.2f s against %.2f s); %.2f with --no-sizes", rc, med(sg), med(bc), med(bench.Ratios(r.walls(chain, toolSGNo, "warm"), bc)))
		if bf := r.walls(chain, toolSGBefore, "warm"); len(bf) > 0 {
			measured += fmt.Sprintf("; before %.2f", med(bench.Ratios(bf, bc)))
		}
		goals = append(goals, [3]string{"chain of 200 stages, warm, sizes on: ≤ 0.6 × two buildctl builds", measured, verdict(rc <= 0.6)})
	}

	var loudTools []string
	loudName := ""
	for _, run := range r.results.Runs {
		if run.Mode == "loud" && !slices.Contains(loudTools, run.Tool) {
			loudTools = append(loudTools, run.Tool)
			loudName = run.Workload
		}
	}
	if len(loudTools) > 0 {
		fmt.Fprintf(&b, "## Peak RSS with a RUN that prints %d MB\n\n", r.o.loudBytes/1_000_000)
		fmt.Fprintf(&b, "The test stage runs `yes <100 characters> | head -c %d` (a new build argument each run, so it runs every time). BuildKit's default step log limits (2 MiB per step, 200 kB/s) clip what reaches the client; the second daemon is a buildkitd the bench starts with `BUILDKIT_STEP_LOG_MAX_SIZE=-1 BUILDKIT_STEP_LOG_MAX_SPEED=-1`, so every byte reaches it.\n\n", r.o.loudBytes)
		fmt.Fprintf(&b, "| tool, daemon | peak RSS (max of %d) | wall (median) | bytes the tool printed (median) |\n| --- | ---: | ---: | ---: |\n", r.o.loudRuns)
		worst := 0.0
		for _, t := range loudTools {
			rs := r.rss(loudName, t, "loud")
			var out []float64
			for _, run := range r.results.Runs {
				if run.Tool == t && run.Mode == "loud" {
					out = append(out, float64(run.OutputBytes))
				}
			}
			fmt.Fprintf(&b, "| %s | %.0f MB | %.2f s | %.1f MB |\n", t, maxOf(rs), med(r.walls(loudName, t, "loud")), med(out)/1e6)
			if strings.HasPrefix(t, "stagegate") {
				worst = max(worst, maxOf(rs))
			}
		}
		b.WriteString("\n")
		goals = append(goals, [3]string{fmt.Sprintf("peak RSS < 150 MB with a RUN printing %d MB", r.o.loudBytes/1_000_000), fmt.Sprintf("%.0f MB (worst variant)", worst), verdict(worst < 150)})
	}

	// Scaling.
	var scaleRows []string
	for _, run := range r.results.Runs {
		if (strings.HasPrefix(run.Workload, "context ") || strings.HasPrefix(run.Workload, "chain ")) && !slices.Contains(scaleRows, run.Workload) {
			scaleRows = append(scaleRows, run.Workload)
		}
	}
	order := func(w string) (int, int) {
		var n int
		if strings.HasPrefix(w, "context ") {
			fmt.Sscanf(strings.TrimPrefix(w, "context "), "%dk", &n)
			return 0, n
		}
		fmt.Sscanf(strings.TrimPrefix(w, "chain of "), "%d", &n)
		return 1, n
	}
	sort.SliceStable(scaleRows, func(i, j int) bool {
		ai, an := order(scaleRows[i])
		bi, bn := order(scaleRows[j])
		if ai != bi {
			return ai < bi
		}
		return an < bn
	})
	if len(scaleRows) > 1 {
		fmt.Fprintf(&b, "## Scaling\n\nMedian wall time (the 20k row is the reference workload, %d runs; other rows %d runs). Context rows: the reference Dockerfile over a context of N files of 4 kB. Chain rows: base, then a chain of stages each doing a small `RUN` on the one before, then test and final on its end.\n\n", r.o.runs, r.o.scaleRuns)
		b.WriteString("| workload | warm: stagegate | warm: --no-sizes | warm: buildctl ×2 | warm ratio | cold: stagegate | cold: --no-sizes | cold: buildctl ×2 | cold ratio | stagegate peak RSS |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, w := range scaleRows {
			row := []string{w}
			for _, mode := range []string{"warm", "cold"} {
				sg, no, bc := r.walls(w, toolSG, mode), r.walls(w, toolSGNo, mode), r.walls(w, toolBuildctl, mode)
				row = append(row, f2(med(sg)), f2(med(no)), f2(med(bc)),
					fmt.Sprintf("%.2f (no-sizes %.2f)", med(bench.Ratios(sg, bc)), med(bench.Ratios(no, bc))))
			}
			row = append(row, fmt.Sprintf("%.0f MB", maxOf(r.rss(w, toolSG, "warm", "cold"))))
			b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		}
		b.WriteString("\n")
	}

	// Docker Engine.
	dockerW := "Docker Engine: " + ref
	if len(r.walls(dockerW, toolSGEngine, "warm")) > 0 {
		fmt.Fprintf(&b, "## On the Docker Engine: stagegate vs two `docker buildx build`\n\n| | stagegate (sizes) | docker buildx build ×2 | ratio |\n| --- | ---: | ---: | ---: |\n")
		for _, mode := range []string{"warm", "cold"} {
			sg, bx := r.walls(dockerW, toolSGEngine, mode), r.walls(dockerW, toolBuildx, mode)
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mode, secs(sg), secs(bx), ratio(sg, bx))
		}
		b.WriteString("\n")
	}
	for phase, why := range r.results.Skipped {
		fmt.Fprintf(&b, "**Skipped: %s.** %s\n\n", phase, why)
	}

	if len(goals) > 0 {
		b.WriteString("## Goals\n\n| goal | measured | |\n| --- | --- | --- |\n")
		for _, g := range goals {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", g[0], g[1], g[2])
		}
		b.WriteString("\n")
	}
	return b.String()
}

func f2(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.2f s", x)
}

func maxOf(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return slices.Max(xs)
}
