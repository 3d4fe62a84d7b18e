package gate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/gate"
	"github.com/stagegate/stagegate/internal/report"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/testenv"
)

// syncBuffer is a bytes.Buffer safe for the display goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBuilderDiesMidBuild(t *testing.T) {
	d := testenv.StartBuildkitdProcess(t, testenv.BuildkitdOptions{})
	ctx := testenv.Context(t, map[string]string{"Dockerfile": `FROM busybox AS test
RUN echo "` + testenv.Token(t) + `" && echo long-step-started && sleep 120

FROM busybox AS final
`})
	res := runAndKill(t, &gate.Config{TestTargets: []string{"test"}, ContextDir: ctx, Connect: build.ConnectOptions{Host: d.Addr}}, func() error { return d.Kill() })
	if res.Result != result.Failed || !strings.Contains(res.Error, "went away") || strings.Contains(res.Error, "rpc error") {
		t.Errorf("result %s, error %q: want failed, saying the builder went away, no raw gRPC", res.Result, res.Error)
	}
	if st := res.Stage("test"); st == nil || (st.Status != result.StatusCancelled && st.Status != result.StatusFailed) {
		t.Errorf("test stage %+v, want cancelled or failed", st)
	}
	var js bytes.Buffer
	if err := report.JSON(&js, res); err != nil || !json.Valid(js.Bytes()) {
		t.Errorf("report: %v", err)
	}
}

// runAndKill runs a build whose test stage prints "long-step-started" and then
// sleeps, calls kill once that line is out, and returns the result, which
// must come within a minute.
func runAndKill(t *testing.T, cfg *gate.Config, kill func() error) *result.Result {
	t.Helper()
	var log syncBuffer
	cfg.Progress, cfg.Out = "plain", &log
	type ret struct {
		res *result.Result
		err error
	}
	done := make(chan ret, 1)
	go func() {
		res, err := gate.Run(context.Background(), cfg)
		done <- ret{res, err}
	}()
	waitFor(t, "the long step to start", 2*time.Minute, func() bool { return strings.Contains(log.String(), "long-step-started") })
	if err := kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	var r ret
	select {
	case r = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("stagegate did not return within 60s of the builder dying")
	}
	t.Logf("returned %s after the kill", time.Since(killed).Round(time.Millisecond))
	if r.err != nil {
		t.Fatalf("gate.Run: %v (want a failed result)", r.err)
	}
	return r.res
}

func TestBuilderNeverAnswers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // accept and say nothing
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx := testenv.Context(t, map[string]string{"Dockerfile": "FROM busybox\n"})
	start := time.Now()
	_, err = gate.Run(context.Background(), &gate.Config{ContextDir: ctx, Connect: build.ConnectOptions{Host: "tcp://" + l.Addr().String(), Timeout: 2 * time.Second}})
	if err == nil || !strings.Contains(err.Error(), "no answer within 2s") || !strings.Contains(err.Error(), l.Addr().String()) {
		t.Fatalf("error %v, want a connection timeout naming the address", err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("took %s to give up", took)
	}
}

func TestOverallTimeout(t *testing.T) {
	ctx := testenv.Context(t, map[string]string{"Dockerfile": `FROM busybox AS test
RUN echo "` + testenv.Token(t) + `" && sleep 60

FROM busybox AS final
`})
	start := time.Now()
	res := run(t, &gate.Config{TestTargets: []string{"test"}, ContextDir: ctx, Timeout: 3 * time.Second})
	if res.Result != result.Failed || !strings.Contains(res.Error, "did not finish within 3s") {
		t.Fatalf("result %s, error %q: want a timeout", res.Result, res.Error)
	}
	if took := time.Since(start); took > 40*time.Second {
		t.Errorf("took %s", took)
	}
	// Cancelled when the time ran out before its step started (a loaded
	// machine can take 3 s to resolve the base image), failed when it
	// stopped the step.
	if st := res.Stage("test"); st.Status != result.StatusCancelled && st.Status != result.StatusFailed {
		t.Errorf("test stage %s, want cancelled or failed", st.Status)
	}
}

// TestHugeAndHostileOutput: a step that prints a lot, very long lines,
// invalid UTF-8, terminal escapes and "::" lines, then fails.
func TestHugeAndHostileOutput(t *testing.T) {
	ctx := testenv.Context(t, map[string]string{
		"noise.sh": `#!/bin/sh
echo "` + testenv.Token(t) + `"
head -c 50000000 /dev/zero | tr '\0' 'x' | fold -w 1000
head -c 10000000 /dev/zero | tr '\0' 'y'; echo
printf 'bad utf8: \377\376 \033[31mred\033[0m\n'
echo '::error file=Dockerfile,line=1::injected'
echo '::set-output name=result::hacked'
exit 9
`,
		"Dockerfile": `FROM busybox AS test
COPY noise.sh /noise.sh
RUN /noise.sh

FROM busybox AS final
`})
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res := run(t, &gate.Config{TestTargets: []string{"test"}, ContextDir: ctx, Progress: "plain"})
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if res.Result != result.Failed || res.Failure == nil || res.Failure.ExitCode == nil || *res.Failure.ExitCode != 9 {
		t.Fatalf("result %s failure %+v", res.Result, res.Failure)
	}
	f := res.Failure
	if len(f.LogTail) > 31 {
		t.Errorf("log tail has %d lines", len(f.LogTail))
	}
	for _, l := range f.LogTail {
		if len(l) > 4096+len(" [line cut]") {
			t.Errorf("a log tail line of %d bytes", len(l))
		}
	}
	var js, md bytes.Buffer
	if err := report.JSON(&js, res); err != nil || !json.Valid(js.Bytes()) {
		t.Errorf("JSON report invalid: %v", err)
	}
	if err := report.Markdown(&md, res); err != nil || md.Len() >= 1<<20 || !utf8.Valid(md.Bytes()) {
		t.Errorf("summary: %v, %d bytes, valid UTF-8 %v", err, md.Len(), utf8.Valid(md.Bytes()))
	}
	if grown := int64(after.HeapInuse) - int64(before.HeapInuse); grown > 64<<20 {
		t.Errorf("heap grew by %d MB after the run", grown>>20)
	}
}

// TestSoak runs 50 builds against one builder, alternating a pass and a
// fail, and checks that neither stagegate's heap nor the builder's open
// files keep growing.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test")
	}
	debug := testenv.FreeTCPAddr(t)
	d := testenv.StartBuildkitdProcess(t, testenv.BuildkitdOptions{DebugAddr: debug})
	ctx := testenv.Context(t, map[string]string{"Dockerfile": `FROM busybox AS build
ARG N
RUN echo "` + testenv.Token(t) + ` build $N" > /n

FROM build AS test
ARG FAIL
RUN test "$FAIL" != yes

FROM busybox AS final
COPY --from=build /n /n
`})
	// Every session the builder holds costs goroutines; its goroutine count
	// (from its pprof endpoint) shows sessions that were never closed.
	goroutines := func() int {
		resp, err := http.Get("http://" + debug + "/debug/pprof/goroutine?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var n int
		if _, err := fmt.Fscanf(resp.Body, "goroutine profile: total %d", &n); err != nil {
			t.Fatalf("read the builder's goroutine count: %v", err)
		}
		return n
	}
	sockets := func() int {
		dir := filepath.Join("/proc", fmt.Sprint(d.Pid()), "fd")
		es, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range es {
			if l, _ := os.Readlink(filepath.Join(dir, e.Name())); strings.HasPrefix(l, "socket:") {
				n++
			}
		}
		return n
	}
	var heapAt10 uint64
	var goroutinesAt10, socketsAt10 int
	for i := 1; i <= 50; i++ {
		fail := i%2 == 0
		args := map[string]string{"N": fmt.Sprint(i), "FAIL": map[bool]string{true: "yes", false: "no"}[fail]}
		res := run(t, &gate.Config{TestTargets: []string{"test"}, ContextDir: ctx, BuildArgs: args, Connect: build.ConnectOptions{Host: d.Addr}})
		if (res.Result == result.Failed) != fail {
			t.Fatalf("build %d: result %s (%s)", i, res.Result, res.Error)
		}
		if i == 10 {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			heapAt10 = m.HeapInuse
			time.Sleep(time.Second) // let the builder close the last session
			goroutinesAt10, socketsAt10 = goroutines(), sockets()
		}
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	// Sessions end asynchronously: give the builder a few seconds.
	var g, sock int
	for i := 0; i < 50; i++ {
		if g, sock = goroutines(), sockets(); g <= goroutinesAt10+20 && sock <= socketsAt10+2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("after 10 and 50 builds: heap in use %d MB, %d MB; builder goroutines %d, %d; builder sockets %d, %d",
		heapAt10>>20, m.HeapInuse>>20, goroutinesAt10, g, socketsAt10, sock)
	if m.HeapInuse > heapAt10+32<<20 {
		t.Errorf("heap grew from %d MB to %d MB over 40 builds", heapAt10>>20, m.HeapInuse>>20)
	}
	if g > goroutinesAt10+20 || sock > socketsAt10+2 {
		t.Errorf("the builder holds %d goroutines and %d sockets after 50 builds, %d and %d after 10: sessions leak", g, sock, goroutinesAt10, socketsAt10)
	}
}

// TestEngineDiesMidBuild: the Docker Engine's daemon (of an environment of
// the test's own) is killed while a step runs on its embedded BuildKit.
func TestEngineDiesMidBuild(t *testing.T) {
	env := testenv.StartEnvironment(t)
	docker := env.Exports["DOCKER_HOST"]
	ctx := testenv.Context(t, map[string]string{"Dockerfile": `FROM busybox AS test
RUN echo "` + testenv.Token(t) + `" && echo long-step-started && sleep 120

FROM busybox AS final
`})
	res := runAndKill(t, &gate.Config{TestTargets: []string{"test"}, ContextDir: ctx, Connect: build.ConnectOptions{Getenv: func(k string) string {
		if k == "DOCKER_HOST" {
			return docker
		}
		return ""
	}}}, func() error { return syscall.Kill(env.Pid(t, "dockerd"), syscall.SIGKILL) })
	if res.Result != result.Failed || !strings.Contains(res.Error, "went away") || strings.Contains(res.Error, "rpc error") {
		t.Errorf("result %s, error %q: want failed, saying the builder went away", res.Result, res.Error)
	}
}
