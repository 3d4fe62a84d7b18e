package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Tools of the cache phase, beside toolSG and toolSGNo.
const (
	toolBuildctlCache = "buildctl build ×2, same cache"
	toolBuildxCache   = "docker buildx build ×2, same cache"
)

// cacheBackends are the cache backends the cache phase imports from.
var cacheBackends = []string{"local", "registry"}

// cacheTool is a tool of the cache phase: it runs against the daemon at addr,
// importing the cache that cacheFrom names (buildx's syntax).
type cacheTool struct {
	name string
	run  func(addr, cacheFrom string, w workload) (Run, error)
}

// cacheImported measures what a job on a GitHub-hosted runner does: a fresh
// builder, a cache exported by the run of the previous commit, one source
// file changed. For each run of each tool: a fresh buildkitd exports the
// cache of commit A (stagegate --no-sizes --cache-to ...,mode=max: both
// targets' layers, the same seed for every tool); a second fresh buildkitd
// then builds commit B (one file of src changed) with that cache imported,
// timed. Every tool imports the same cache with the same flags; none
// exports one in the timed run.
func (r *runner) cacheImported() error {
	if r.o.buildkitd == "" {
		r.skip("cache", "no buildkitd binary (-buildkitd) to start fresh daemons with")
		return nil
	}
	ref, err := r.contextWorkload(20000)
	if err != nil {
		return err
	}
	w := workload{name: "cache-imported " + ref.name, dir: filepath.Join(r.o.work, "cache-ctx"), files: ref.files}
	if _, err := os.Stat(w.dir); err != nil {
		if out, err := exec.Command("cp", "-a", ref.dir, w.dir).CombinedOutput(); err != nil {
			return fmt.Errorf("copy the workload: %v: %s", err, out)
		}
	}
	tools := []cacheTool{
		{toolSG, func(addr, from string, w workload) (Run, error) {
			return r.stagegateTool(toolSG, true, map[string]string{"BUILDKIT_HOST": addr}, "--cache-from", from)(w, "cache")
		}},
		{toolSGNo, func(addr, from string, w workload) (Run, error) {
			return r.stagegateTool(toolSGNo, false, map[string]string{"BUILDKIT_HOST": addr}, "--cache-from", from)(w, "cache")
		}},
		{toolBuildctlCache, r.buildctlCachePair},
	}
	if r.o.stagegateBefore != "" {
		tools = append(tools, cacheTool{toolSGBefore, func(addr, from string, w workload) (Run, error) {
			return r.stagegateTool(toolSGBefore, true, map[string]string{"BUILDKIT_HOST": addr}, "--cache-from", from)(w, "cache")
		}})
	}
	if bx, why := buildxCLI(); bx != "" {
		tools = append(tools, cacheTool{toolBuildxCache, r.buildxCachePair(bx)})
	} else {
		r.skip("cache: buildx", why)
	}
	for _, backend := range cacheBackends {
		if backend == "registry" && r.o.registry == "" {
			r.skip("cache: registry", "no registry (-registry, STAGEGATE_TEST_REGISTRY) to hold the cache")
			continue
		}
		mode := "cache " + backend
		for i := range r.o.cacheRuns {
			for j := range tools {
				t := tools[(i+j)%len(tools)]
				slug := fmt.Sprintf("%d-%s", i, strings.NewReplacer(" ", "", "×", "x", ",", "", "-", "").Replace(t.name))
				to, from := r.cacheSpecs(backend, slug)
				if err := r.seedCache(w, to, slug); err != nil {
					return err
				}
				if err := writeCommit(w, "B "+slug); err != nil {
					return err
				}
				addr, stop, err := r.startBuildkitd()
				if err != nil {
					return err
				}
				l := load1()
				run, err := t.run(addr, from, w)
				stop()
				if err != nil {
					return err
				}
				run.Workload, run.Tool, run.Mode, run.Index, run.Load1 = w.name, t.name, mode, i, l
				r.results.Runs = append(r.results.Runs, run)
				r.logf("%s %d/%d %-34s %7.2fs  load %.1f  %s", mode, i+1, r.o.cacheRuns, t.name, run.Wall, l, run.Stages)
			}
			r.save()
		}
	}
	return nil
}

// cacheSpecs are the cache-to and cache-from of one seeded cache.
func (r *runner) cacheSpecs(backend, slug string) (to, from string) {
	if backend == "local" {
		dir := filepath.Join(r.o.work, "cache-seed", slug)
		_ = os.RemoveAll(dir)
		return "type=local,mode=max,dest=" + dir, "type=local,src=" + dir
	}
	ref := r.o.registry + "/stagegate-bench/cache:" + slug
	return "type=registry,mode=max,ref=" + ref, "type=registry,ref=" + ref
}

// seedCache exports the cache of commit A from a fresh daemon, as the run of
// the previous commit would have.
func (r *runner) seedCache(w workload, cacheTo, slug string) error {
	if err := writeCommit(w, "A "+slug); err != nil {
		return err
	}
	addr, stop, err := r.startBuildkitd()
	if err != nil {
		return err
	}
	defer stop()
	_, err = r.stagegateTool(toolSGNo, false, map[string]string{"BUILDKIT_HOST": addr}, "--cache-to", cacheTo)(w, "cache")
	if err != nil {
		return fmt.Errorf("seed the cache: %w", err)
	}
	return nil
}

// writeCommit changes one source file of the workload (src/d0000/f000; the
// test stage counts the files, so none is added): its first line says which
// commit this is.
func writeCommit(w workload, commit string) error {
	path := filepath.Join(w.dir, "src", "d0000", "f000")
	dt, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	_, rest, _ := strings.Cut(string(dt), "\n")
	return os.WriteFile(path, []byte("commit "+commit+"\n"+rest), 0o644)
}

// buildctlCachePair is the baseline with the cache: the test target, then
// the final target with an image output, each importing the cache.
func (r *runner) buildctlCachePair(addr, from string, w workload) (Run, error) {
	return r.buildctlTwo(addr, w, "--import-cache", from)
}

// buildxCLI is the docker CLI when it has a working buildx plugin, else why
// not.
func buildxCLI() (string, string) {
	bin, err := exec.LookPath("docker")
	if err != nil {
		return "", "there is no docker CLI on PATH"
	}
	if out, err := exec.Command(bin, "buildx", "version").CombinedOutput(); err != nil {
		return "", fmt.Sprintf("the docker CLI (%s) has no working buildx plugin (./hack/bench --buildx builds one): %s", bin, firstLine(out, err))
	}
	return bin, ""
}

// buildxCachePair is what a workflow with docker/setup-buildx-action and two
// docker/build-push-action steps runs: a builder on the daemon (the remote
// driver; created before the clock starts, as setup-buildx-action does in a
// step of its own), then `--target test` and the image, each with the same
// --cache-from.
func (r *runner) buildxCachePair(docker string) func(addr, from string, w workload) (Run, error) {
	return func(addr, from string, w workload) (Run, error) {
		name := fmt.Sprintf("stagegate-bench-%d", time.Now().UnixNano())
		if out, err := exec.Command(docker, "buildx", "create", "--name", name, "--driver", "remote", addr).CombinedOutput(); err != nil {
			return Run{}, fmt.Errorf("docker buildx create: %v: %s", err, out)
		}
		defer exec.Command(docker, "buildx", "rm", "--force", name).Run()
		common := []string{docker, "buildx", "build", "--builder", name, "--progress", "plain", "--cache-from", from}
		t0 := time.Now()
		p1, err := r.timed(nil, append(common, "--target", "test", w.dir)...)
		if err != nil {
			return Run{}, err
		}
		p2, err := r.timed(nil, append(common, "--target", "final", "--output", "type=image,name=bench/final:latest", w.dir)...)
		if err != nil {
			return Run{}, err
		}
		run := combine(p1, p2)
		run.Wall = time.Since(t0).Seconds()
		return run, nil
	}
}
