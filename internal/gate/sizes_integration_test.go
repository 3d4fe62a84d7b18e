package gate_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/gate"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/testenv"
)

// TestSizesMatchAnOCIExport compares stagegate's sizes of each stage with an
// independent measurement: buildctl exports the same stage as an OCI tarball,
// whose layer blobs are counted as stored and after gunzip. Most stages are
// not exported by stagegate but measured as the first layers of a stage
// built on them, so the Dockerfiles mix instructions that make a layer with
// some that do not, and a RUN that changes nothing.
//
// Every stage's uncompressed size is exact. A compressed size is given for
// the final image and the stages it is built on, read from its own export,
// and is exact too; the other stages are exported with gzip at its fastest
// level to be measured, so theirs is left out (null) rather than a size no
// push would have.
func TestSizesMatchAnOCIExport(t *testing.T) {
	base := `FROM busybox AS base
RUN seq 1 200000 > /numbers
ENV GREETING=hello
WORKDIR /work/dir
LABEL stage=base

FROM base AS build
RUN head -c 3000000 /dev/urandom > /random && echo "%s" > /token
RUN true
COPY --link Dockerfile /copied
USER 65534
`
	tests := []struct {
		name, rest string
		stages     []string
		compressed []string // the stages with a compressed size
	}{
		{"final on its own", `
FROM build AS test
RUN test -s /random

FROM busybox AS final
COPY --from=build /token /token
`, []string{"base", "build", "test", "final"}, []string{"final"}},
		{"final built on build", `
FROM build AS test
RUN test -s /random

FROM build AS final
ENV MODE=final
USER 0
RUN rm /random
`, []string{"base", "build", "test", "final"}, []string{"base", "build", "final"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testenv.Context(t, map[string]string{"Dockerfile": fmt.Sprintf(base, testenv.Token(t)) + tt.rest})
			res := run(t, &gate.Config{TestTargets: []string{"test"}, ContextDir: ctx})
			if res.Result != result.Passed {
				t.Fatalf("result %s: %s", res.Result, res.Error)
			}
			if len(res.Warnings) > 0 {
				t.Errorf("warnings: %v", res.Warnings)
			}
			for _, name := range tt.stages {
				st := res.Stage(name)
				if st == nil || st.Size == nil {
					t.Fatalf("stage %s has no size (%+v)", name, st)
				}
				uncompressed, compressed := ociExportSize(t, ctx, st.Name)
				if *st.Size != uncompressed {
					t.Errorf("stage %s: stagegate says %d bytes, the OCI export holds %d", st.Name, *st.Size, uncompressed)
				}
				switch want := slices.Contains(tt.compressed, name); {
				case want && st.CompressedSize == nil:
					t.Errorf("stage %s has no compressed size", name)
				case want && *st.CompressedSize != compressed:
					t.Errorf("stage %s: stagegate says %d bytes compressed, the OCI export holds %d", st.Name, *st.CompressedSize, compressed)
				case !want && st.CompressedSize != nil:
					t.Errorf("stage %s has a compressed size (%d), but only the final image's export tells one", name, *st.CompressedSize)
				}
			}
			if res.Image == nil || res.Image.CompressedSize == nil || *res.Image.CompressedSize != *res.Stage("final").CompressedSize {
				t.Errorf("the final image's compressed size is %v, want the final stage's", res.Image)
			}
			build, base := res.Stage("build"), res.Stage("base")
			if build.BaseDelta == nil || *build.BaseDelta < 3000000 || *build.BaseDelta != *build.Size-*base.Size {
				t.Errorf("build's delta over base = %v, want its size minus base's (≥ 3 MB of random data)", build.BaseDelta)
			}
		})
	}
}

// TestFinalImageCompressedAsUsual pushes a final image that shares its base
// stage with the test stage, which stagegate measures by exporting it with
// gzip at its fastest level. BuildKit reuses the first blob made of a layer,
// so had the test stage's export come first, the pushed image would carry
// the quickly compressed blob of base's layer. Each pushed layer must be as
// small as gzip's default level makes it.
func TestFinalImageCompressedAsUsual(t *testing.T) {
	// Which export makes a shared layer's blob first is a race: three
	// rounds, each built afresh, so that a wrong compression shows.
	for round := range 3 {
		t.Run(fmt.Sprint("round ", round), finalImageCompressedAsUsual)
	}
}

func finalImageCompressedAsUsual(t *testing.T) {
	registry := testenv.Registry(t)
	repo := repoName(t)
	ctx := testenv.Context(t, map[string]string{"Dockerfile": `FROM busybox AS base
RUN seq 1 300000 > /numbers && echo "` + testenv.Token(t) + `" > /token

FROM base AS test
RUN test -s /numbers && seq 1 100000 > /more

FROM base AS final
RUN echo final > /final
`})
	res := run(t, &gate.Config{ContextDir: ctx, TestTargets: []string{"test"}, Tags: []string{registry + "/" + repo + ":gz"}, Push: true})
	if res.Result != result.Passed || len(res.Warnings) > 0 {
		t.Fatalf("result %s (%s), warnings %q", res.Result, res.Error, res.Warnings)
	}
	if st := res.Stage("test"); st.Size == nil || st.CompressedSize != nil {
		t.Fatalf("test stage: size %v, compressed %v; want a size and no compressed size", st.Size, st.CompressedSize)
	}
	if st := res.Stage("base"); st.CompressedSize == nil {
		t.Fatal("base has no compressed size, but the final image is built on it")
	}

	get := func(path, accept string) []byte {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+registry+"/v2/"+repo+path, nil)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s %v", path, resp.Status, err)
		}
		return b
	}
	var manifest struct {
		Layers []struct{ MediaType, Digest string }
	}
	if err := json.Unmarshal(get("/manifests/gz", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"), &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest.Layers) < 3 {
		t.Fatalf("pushed image has %d layers, want busybox's and two more", len(manifest.Layers))
	}
	for i, l := range manifest.Layers {
		blob := get("/blobs/"+l.Digest, "*/*")
		zr, err := gzip.NewReader(bytes.NewReader(blob))
		if err != nil {
			t.Fatalf("layer %d (%s) is not gzip: %v", i, l.MediaType, err)
		}
		tarball, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		var again bytes.Buffer
		zw := gzip.NewWriter(&again)
		zw.Write(tarball)
		zw.Close()
		if float64(len(blob)) > 1.01*float64(again.Len()) {
			t.Errorf("layer %d is %d bytes, gzip's default level makes %d of it: compressed at another level", i, len(blob), again.Len())
		}
	}
}

// ociExportSize exports a stage with buildctl and sums its layers.
func ociExportSize(t *testing.T, contextDir, stage string) (uncompressed, compressed int64) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "image.tar")
	cmd := exec.Command(testenv.Buildctl(t), "--addr", testenv.BuildKitHost(t), "build", "--progress", "quiet",
		"--frontend", "dockerfile.v0", "--local", "context="+contextDir, "--local", "dockerfile="+contextDir,
		"--opt", "target="+stage, "--output", "type=oci,dest="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("buildctl: %v\n%s", err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
	}
	type descriptor struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
	}
	blob := func(d descriptor) []byte {
		b, ok := files["blobs/sha256/"+d.Digest[len("sha256:"):]]
		if !ok {
			t.Fatalf("OCI export lacks blob %s", d.Digest)
		}
		return b
	}
	var index struct{ Manifests []descriptor }
	if err := json.Unmarshal(files["index.json"], &index); err != nil || len(index.Manifests) == 0 {
		t.Fatalf("index.json: %v", err)
	}
	var manifest struct{ Layers []descriptor }
	if err := json.Unmarshal(blob(index.Manifests[0]), &manifest); err != nil {
		t.Fatal(err)
	}
	for _, l := range manifest.Layers {
		b := blob(l)
		compressed += int64(len(b))
		if strings.HasSuffix(l.MediaType, ".tar") {
			// A layer stagegate exported uncompressed, reused as it is.
			uncompressed += int64(len(b))
			continue
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("layer %s: %v", l.Digest, err)
		}
		n, err := io.Copy(io.Discard, zr)
		if err != nil {
			t.Fatal(err)
		}
		uncompressed += n
	}
	return uncompressed, compressed
}

// manyLeaves is a Dockerfile of many stages: base, then leaves stages that
// each add a file to it, groups of 20 of them gathered by a stage each, a
// test stage that copies from every group and a final stage. base's RUN
// carries a line of line bytes, as a long script or heredoc does: every
// stage image's LLB definition holds that step, and its image config holds
// it in its history. (Groups keep each stage to a few dozen layers: a stage
// of hundreds fails on the overlay mount's options being too long.)
func manyLeaves(leaves, line int) string {
	const group = 20
	var b strings.Builder
	fmt.Fprintf(&b, "FROM busybox AS base\nRUN echo base > /base && : %s\n", strings.Repeat("x", line))
	for i := range leaves {
		fmt.Fprintf(&b, "\nFROM base AS leaf%04d\nCOPY f /leaf%04d\n", i, i)
	}
	var test strings.Builder
	test.WriteString("\nFROM base AS test\nRUN test -s /base\n")
	for g := 0; g*group < leaves; g++ {
		fmt.Fprintf(&b, "\nFROM base AS group%02d\n", g)
		for i := g * group; i < min((g+1)*group, leaves); i++ {
			fmt.Fprintf(&b, "COPY --from=leaf%04d /leaf%04d /leaf%04d\n", i, i, i)
		}
		fmt.Fprintf(&test, "COPY --from=group%02d /leaf%04d /leaf%04d\n", g, g*group, g*group)
	}
	b.WriteString(test.String())
	b.WriteString("\nFROM base AS final\nRUN echo final > /final\n")
	return b.String()
}

// TestSizesOfManyStages sizes every stage of a Dockerfile of 455 stages,
// 452 of them exported to be measured (the leaves and the groups). The
// images to export are returned to BuildKit in one gRPC message per
// client.Build, which BuildKit caps at 16 MiB. With every definition
// carrying the whole Dockerfile (its source map) they made one of 110 MB
// ("trying to send message larger than max (109745940 vs. 16777216)");
// without it they still make about 70 MB, as each carries base's 40 kB line
// in its definition (the step and its name) and in its history, so they go
// in batches. No token: the stages need not be built afresh to be sized.
func TestSizesOfManyStages(t *testing.T) {
	const leaves = 430 // + 22 groups, base, test and final
	dir := testenv.Context(t, map[string]string{"Dockerfile": manyLeaves(leaves, 40000), "f": "x\n"})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	res, err := gate.Run(ctx, &gate.Config{ContextDir: dir, Connect: build.ConnectOptions{Host: testenv.BuildKitHost(t)}, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if res.Result != result.Passed || len(res.Warnings) > 0 {
		t.Fatalf("result %s (%s), warnings %q", res.Result, res.Error, clipAll(res.Warnings))
	}
	if len(res.Stages) != 455 {
		t.Fatalf("%d stages, want 455", len(res.Stages))
	}
	base := stage(t, res, "base")
	for _, st := range res.Stages {
		if st.Size == nil {
			t.Fatalf("stage %s has no size", st.Name)
		}
		if strings.HasPrefix(st.Name, "leaf") && (st.BaseDelta == nil || *st.BaseDelta <= 0 || *st.Size != *base.Size+*st.BaseDelta) {
			t.Errorf("stage %s: %d bytes, %v more than base's %d; want its file more", st.Name, *st.Size, st.BaseDelta, *base.Size)
		}
	}
}

// clipAll cuts the middle out of long messages (a list of 450 stage names).
func clipAll(msgs []string) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		if len(m) > 600 {
			m = m[:200] + " [...] " + m[len(m)-400:]
		}
		out[i] = m
	}
	return out
}
