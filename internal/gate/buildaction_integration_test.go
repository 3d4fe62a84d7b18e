package gate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/gate"
	"github.com/stagegate/stagegate/internal/report"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/testenv"
)

// manifestDigest asks the registry for a tag's manifest digest; "" when the
// tag does not exist.
func manifestDigest(t *testing.T, registry, repo, tag string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodHead, "http://"+registry+"/v2/"+repo+"/manifests/"+tag, nil)
	req.Header.Set("Accept", strings.Join([]string{
		"application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
		"application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json",
	}, ", "))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return ""
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD manifest %s:%s: %s", repo, tag, resp.Status)
	}
	return resp.Header.Get("Docker-Content-Digest")
}

func repoName(t *testing.T) string {
	return "stagegate-test/" + strings.ToLower(strings.ReplaceAll(testenv.Token(t), "_", "-"))
}

// TestPushTwoTagsOnlyWhenTestsPass pushes from buildkitd, and from the Docker
// Engine with its classic image store, whose BuildKit cannot push: the engine
// does.
func TestPushTwoTagsOnlyWhenTestsPass(t *testing.T) {
	builders := []struct {
		name  string
		start func(t *testing.T) (conn build.ConnectOptions, registry string)
	}{
		{"buildkitd", func(t *testing.T) (build.ConnectOptions, string) {
			return build.ConnectOptions{Host: testenv.BuildKitHost(t)}, testenv.Registry(t)
		}},
		{"docker-engine-classic-store", func(t *testing.T) (build.ConnectOptions, string) {
			env := testenv.StartClassicStoreEnvironment(t)
			return engineOnly(env.Exports["DOCKER_HOST"]), env.Exports["STAGEGATE_TEST_REGISTRY"]
		}},
	}
	for _, b := range builders {
		t.Run(b.name, func(t *testing.T) {
			conn, registry := b.start(t)
			testPush(t, conn, registry)
		})
	}
}

func testPush(t *testing.T, conn build.ConnectOptions, registry string) {
	cases := []struct {
		name     string
		testExit string
		pushed   bool
	}{
		{"tests pass", "0", true},
		{"tests fail", "1", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			repo := repoName(t)
			tags := []string{registry + "/" + repo + ":1.0", registry + "/" + repo + ":latest"}
			ctx := testenv.Context(t, map[string]string{"Dockerfile": `FROM busybox AS build
RUN echo "` + testenv.Token(t) + `" > /app

FROM build AS test
RUN exit ` + tc.testExit + `

FROM busybox AS final
COPY --from=build /app /app
`})
			res := run(t, &gate.Config{TestTargets: []string{"test"}, ContextDir: ctx, Tags: tags, Push: true, Connect: conn})
			if (res.Result == result.Passed) != tc.pushed {
				t.Fatalf("result %s: %s", res.Result, res.Error)
			}
			for _, tag := range []string{"1.0", "latest"} {
				got := manifestDigest(t, registry, repo, tag)
				switch {
				case !tc.pushed && got != "":
					t.Errorf("tag %s was pushed although the tests failed", tag)
				case tc.pushed && (res.Image == nil || got != res.Image.Digest || got == ""):
					t.Errorf("tag %s has digest %q, stagegate reported %+v", tag, got, res.Image)
				}
			}
			if tc.pushed && (res.Image.ImageID == "" || !res.Image.Pushed || res.Image.Metadata["containerimage.digest"] != res.Image.Digest) {
				t.Errorf("image outputs incomplete: %+v", res.Image)
			}
		})
	}
}

func TestPushWithoutCredentialsFailsEarly(t *testing.T) {
	ctx := testenv.Context(t, map[string]string{"Dockerfile": "FROM busybox\n"})
	auth, err := build.LoadRegistryAuth(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = gate.Run(context.Background(), &gate.Config{
		ContextDir: ctx, Tags: []string{"ghcr.io/example/app:1"}, Push: true, RegistryAuth: auth,
		Connect: build.ConnectOptions{Host: "unix:///nonexistent.sock"}, // must fail before connecting
	})
	if err == nil || !strings.Contains(err.Error(), "no credentials to push ghcr.io/example/app:1 to ghcr.io") || !strings.Contains(err.Error(), "registry-auth") {
		t.Fatalf("error %v, want one naming the registry and registry-auth", err)
	}
}

// cacheDockerfile has stages whose steps must come from the cache on the
// second build.
func cacheDockerfile(t *testing.T) string {
	return testenv.Context(t, map[string]string{"Dockerfile": `FROM busybox AS build
RUN echo "` + testenv.Token(t) + `" > /app && seq 1 1000 > /numbers

FROM build AS test
RUN test -s /numbers

FROM build AS final
RUN cat /app
`})
}

func TestCacheRoundTrips(t *testing.T) {
	registry := testenv.Registry(t)
	cases := []struct {
		name     string
		from, to func(t *testing.T) string
	}{
		{"registry", func(t *testing.T) string {
			return "type=registry,ref=" + registry + "/" + repoName(t) + ":cache"
		}, nil},
		{"local", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A builder of its own: its cache is wiped between the builds.
			addr := testenv.StartBuildkitd(t, testenv.BuildkitdOptions{})
			var cacheTo, cacheFrom string
			if tc.name == "registry" {
				ref := tc.from(t)
				cacheTo, cacheFrom = ref+",mode=max", ref
			} else {
				dir := t.TempDir()
				cacheTo, cacheFrom = "type=local,mode=max,dest="+dir, "type=local,src="+dir
			}
			to, err := build.ParseCache("cache-to", []string{cacheTo}, build.CacheEnv{})
			if err != nil {
				t.Fatal(err)
			}
			from, err := build.ParseCache("cache-from", []string{cacheFrom}, build.CacheEnv{})
			if err != nil {
				t.Fatal(err)
			}
			ctx := cacheDockerfile(t)
			first := run(t, &gate.Config{ContextDir: ctx, CacheTo: to, Connect: build.ConnectOptions{Host: addr}, SkipSizes: true})
			if first.Result != result.Passed || first.Stage("build").Status != result.StatusPassed {
				t.Fatalf("first build: %s, build stage %s", first.Result, first.Stage("build").Status)
			}
			prune(t, addr)
			second := run(t, &gate.Config{ContextDir: ctx, CacheFrom: from, Connect: build.ConnectOptions{Host: addr}, SkipSizes: true})
			if second.Result != result.Passed {
				t.Fatalf("second build: %s %s", second.Result, second.Error)
			}
			for _, name := range []string{"build", "test", "final"} {
				st := second.Stage(name)
				if st.Status != result.StatusCached {
					t.Errorf("after prune, with cache-from: stage %s is %s with %d/%d steps cached, want cached", name, st.Status, st.CachedSteps, st.Steps)
				}
			}
		})
	}
}

// prune empties a builder's cache.
func prune(t *testing.T, addr string) {
	t.Helper()
	c, err := client.New(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Prune(context.Background(), nil, client.PruneAll); err != nil {
		t.Fatal(err)
	}
	du, err := c.DiskUsage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(du) != 0 {
		t.Fatalf("%d cache records left after prune", len(du))
	}
}

func TestGHACacheAttributesFromTheEnvironment(t *testing.T) {
	env := map[string]string{
		"ACTIONS_CACHE_URL":     "https://artifactcache.actions.githubusercontent.com/abc/",
		"ACTIONS_RESULTS_URL":   "https://results-receiver.actions.githubusercontent.com/",
		"ACTIONS_RUNTIME_TOKEN": "runtime-token",
	}
	cases := []struct {
		entry string
		want  map[string]string
	}{
		{"type=gha", map[string]string{"url": env["ACTIONS_CACHE_URL"], "url_v2": env["ACTIONS_RESULTS_URL"], "token": "runtime-token", "scope": "main-docker-Dockerfile"}},
		{"type=gha,scope=mine,mode=max", map[string]string{"url": env["ACTIONS_CACHE_URL"], "url_v2": env["ACTIONS_RESULTS_URL"], "token": "runtime-token", "scope": "mine", "mode": "max"}},
	}
	for _, tc := range cases {
		got, err := build.ParseCache("cache-to", []string{tc.entry}, build.CacheEnv{
			Getenv: func(k string) string { return env[k] },
			Scope:  build.GHAScope("main", "docker/Dockerfile"),
		})
		if err != nil {
			t.Fatalf("%s: %v", tc.entry, err)
		}
		if len(got) != 1 || got[0].Type != "gha" {
			t.Fatalf("%s: %+v", tc.entry, got)
		}
		for k, v := range tc.want {
			if got[0].Attrs[k] != v {
				t.Errorf("%s: attr %s = %q, want %q", tc.entry, k, got[0].Attrs[k], v)
			}
		}
	}
	if _, err := build.ParseCache("cache-to", []string{"type=gha"}, build.CacheEnv{Getenv: func(string) string { return "" }}); err == nil || !strings.Contains(err.Error(), "ACTIONS_RUNTIME_TOKEN") {
		t.Errorf("gha without a token: %v", err)
	}
	if _, err := build.ParseCache("cache-from", []string{"type=s4,ref=x"}, build.CacheEnv{}); err == nil || !strings.Contains(err.Error(), "type=registry") {
		t.Errorf("unknown type: %v", err)
	}
}

func TestSecretValueNeverShown(t *testing.T) {
	const secret = "tok-5ecr3t-Value-41"
	cases := []struct {
		name string
		tail string
	}{
		{"passing step echoes it", ""},
		{"failing step echoes it", " && exit 4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("STAGEGATE_TEST_SECRET", secret)
			secrets, err := build.ParseSecrets([]string{"id=token,env=STAGEGATE_TEST_SECRET"}, nil, os.Getenv, "")
			if err != nil {
				t.Fatal(err)
			}
			ctx := testenv.Context(t, map[string]string{"Dockerfile": `FROM busybox AS test
RUN --mount=type=secret,id=token echo "` + testenv.Token(t) + ` the token is $(cat /run/secrets/token)"` + tc.tail + `

FROM busybox AS final
RUN true
`})
			var log bytes.Buffer
			cfg := &gate.Config{TestTargets: []string{"test"}, ContextDir: ctx, Secrets: secrets, Progress: "plain"}
			cfg.Connect.Host = testenv.BuildKitHost(t)
			cfg.Out = &log
			res, err := gate.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(log.String(), "the token is ***") {
				t.Errorf("the step's output is not in the log, masked:\n%s", log.String())
			}
			var js, md, table bytes.Buffer
			_ = report.JSON(&js, res)
			_ = report.Markdown(&md, res)
			_ = report.Table(&table, res)
			for name, out := range map[string]string{"log": log.String(), "JSON": js.String(), "summary": md.String(), "table": table.String()} {
				if strings.Contains(out, secret) {
					t.Errorf("the secret appears in the %s", name)
				}
			}
			if tc.tail != "" && (res.Failure == nil || !strings.Contains(strings.Join(res.Failure.LogTail, "\n"), "the token is ***")) {
				t.Errorf("the failure's log tail should hold the masked line: %+v", res.Failure)
			}
		})
	}
}

func TestSSHAgentForwarded(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Skipf("ssh-agent: %v", err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	for i := 0; i < 50; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	key := filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "stagegate-test-key", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	add := exec.Command("ssh-add", key)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v %s", err, out)
	}
	ctx := testenv.Context(t, map[string]string{"Dockerfile": `FROM busybox AS test
COPY agentkeys /agentkeys
RUN --mount=type=ssh echo "` + testenv.Token(t) + `" && /agentkeys

FROM busybox AS final
`})
	gobuild := exec.Command("go", "build", "-o", filepath.Join(ctx, "agentkeys"), "../testenv/agentkeys")
	gobuild.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := gobuild.CombinedOutput(); err != nil {
		t.Fatalf("build agentkeys: %v %s", err, out)
	}
	ssh, err := build.ParseSSH([]string{"default=" + sock}, "")
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cfg := &gate.Config{TestTargets: []string{"test"}, ContextDir: ctx, SSH: ssh, Progress: "plain", SkipSizes: true}
	cfg.Connect.Host = testenv.BuildKitHost(t)
	cfg.Out = &log
	res, err := gate.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Result != result.Passed || !strings.Contains(log.String(), "stagegate-test-key") {
		t.Fatalf("result %s (%s); the step did not list the forwarded key:\n%s", res.Result, res.Error, log.String())
	}
}

func TestTwoPlatformsWithoutEmulation(t *testing.T) {
	ctx := testenv.Context(t, map[string]string{"Dockerfile": `FROM --platform=$BUILDPLATFORM busybox AS build
ARG TARGETARCH
RUN echo "` + testenv.Token(t) + ` built for $TARGETARCH" > /out.txt

FROM build AS test
RUN grep -q built /out.txt

FROM scratch AS final
COPY --from=build /out.txt /out.txt
`})
	res := run(t, &gate.Config{TestTargets: []string{"test"}, ContextDir: ctx, Platforms: []string{"linux/amd64", "linux/arm64"}})
	if res.Result != result.Passed {
		t.Fatalf("result %s: %s", res.Result, res.Error)
	}
	platformsOf := func(name string) []string {
		var ps []string
		for _, st := range res.Stages {
			if st.Name == name {
				ps = append(ps, st.Platform)
			}
		}
		return ps
	}
	if got := platformsOf("final"); strings.Join(got, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("final reported for %v, want linux/amd64 and linux/arm64", got)
	}
	if got := platformsOf("build"); len(got) != 2 {
		t.Errorf("build reported for %v, want both platforms", got)
	}
	for _, st := range res.Stages {
		if st.Size == nil || *st.Size == 0 || st.HasRole(result.RoleTarget) && st.CompressedSize == nil {
			t.Errorf("%s %s has no size (warnings %v)", st.Name, st.Platform, res.Warnings)
		}
	}
	var table bytes.Buffer
	_ = report.Table(&table, res)
	if !strings.Contains(table.String(), "linux/arm64") {
		t.Errorf("the table has no platform column:\n%s", table.String())
	}
}

// TestProvenancePassedThrough: provenance=mode=min attaches an attestation
// manifest to the pushed image's index.
func TestProvenancePassedThrough(t *testing.T) {
	registry := testenv.Registry(t)
	repo := repoName(t)
	ctx := testenv.Context(t, map[string]string{"Dockerfile": "FROM busybox AS final\nRUN echo \"" + testenv.Token(t) + "\" > /a\n"})
	res := run(t, &gate.Config{ContextDir: ctx, Tags: []string{registry + "/" + repo + ":p"}, Push: true, Provenance: "mode=min", TestTargets: []string{"none"}})
	if res.Result != result.Passed {
		t.Fatalf("result %s: %s", res.Result, res.Error)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+registry+"/v2/"+repo+"/manifests/p", nil)
	req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var index struct {
		Manifests []struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&index); err != nil {
		t.Fatalf("the pushed image is not an index: %v", err)
	}
	found := false
	for _, m := range index.Manifests {
		if m.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			found = true
		}
	}
	if !found {
		t.Errorf("no attestation manifest in %+v", index.Manifests)
	}
	if res.Image.Size == nil {
		t.Error("the final image of an index with attestations has no size")
	}
}
