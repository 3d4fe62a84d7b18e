// Package bench generates the workloads of stagegate's benchmark (issue 8) and
// holds the small statistics its driver and profile test share. The driver is
// ./cmd/stagegate-bench; ./hack/bench builds and runs it.
package bench

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// FileSize is the size of each generated context file: 20,000 of them make
// the reference context's 80 MB.
const FileSize = 4000

// filesPerDir keeps directories at a realistic size.
const filesPerDir = 200

// ArtifactBytes is what the build stage writes from /dev/urandom, so that it
// cannot compress away.
const ArtifactBytes = 20_000_000

// Context writes a build context of n files of FileSize bytes under
// dir/src/dNNNN/fNNN, filled with base64 text of a seeded pseudo-random stream
// (about as compressible as source code that gzip shrinks by a quarter, and
// the same bytes every time for the same n). A context that is already
// complete (its marker file says so) is kept.
func Context(dir string, n int) error {
	marker := filepath.Join(dir, ".bench-files")
	if dt, err := os.ReadFile(marker); err == nil && strings.TrimSpace(string(dt)) == fmt.Sprint(n) {
		return nil
	}
	if err := os.RemoveAll(filepath.Join(dir, "src")); err != nil {
		return err
	}
	rng := rand.New(rand.NewChaCha8([32]byte{'s', 't', 'a', 'g', 'e', 'g', 'a', 't', 'e'}))
	raw := make([]byte, base64.StdEncoding.DecodedLen(FileSize)+3)
	buf := make([]byte, base64.StdEncoding.EncodedLen(len(raw)))
	for i := 0; i < n; i++ {
		sub := filepath.Join(dir, "src", fmt.Sprintf("d%04d", i/filesPerDir))
		if i%filesPerDir == 0 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return err
			}
		}
		for j := range raw {
			raw[j] = byte(rng.Uint32())
		}
		base64.StdEncoding.Encode(buf, raw)
		content := buf[:FileSize]
		// Lines, like text files.
		for j := 76; j < len(content); j += 77 {
			content[j] = '\n'
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%03d", i%filesPerDir)), content, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(marker, []byte(fmt.Sprintln(n)), 0o644)
}

// ReferenceDockerfile is issue 8's workload: base -> build (copies the
// context, writes a 20 MB artifact) -> test (checks both) and final (the
// artifact on busybox). files is the number of context files test expects.
func ReferenceDockerfile(files int) string {
	return fmt.Sprintf(`FROM busybox AS base
RUN mkdir -p /app && echo base > /app/base.txt

FROM base AS build
COPY src /app/src
RUN head -c %d /dev/urandom > /artifact && find /app/src -type f | wc -l > /app/count

FROM build AS test
RUN test -s /artifact && test "$(cat /app/count)" -eq %d

FROM busybox AS final
COPY --from=build /artifact /artifact
`, ArtifactBytes, files)
}

// ChainDockerfile has n stages: base, then a chain s2..s(n-2) where each
// stage does a small RUN on the one before, then test and final on the last
// of the chain. n must be at least 3.
func ChainDockerfile(n int) string {
	if n < 3 {
		panic("ChainDockerfile: n < 3")
	}
	var b strings.Builder
	b.WriteString("FROM busybox AS base\nRUN echo base > /base\n")
	prev := "base"
	for i := 2; i <= n-2; i++ {
		name := fmt.Sprintf("s%03d", i)
		fmt.Fprintf(&b, "\nFROM %s AS %s\nRUN echo %d > /%s && cat /%s >/dev/null\n", prev, name, i, name, prev)
		prev = name
	}
	fmt.Fprintf(&b, "\nFROM %s AS test\nRUN test -s /%s\n", prev, prev)
	fmt.Fprintf(&b, "\nFROM %s AS final\nRUN echo final > /final\n", prev)
	return b.String()
}

// LoudDockerfile is the reference workload's shape, with a test stage whose
// RUN prints bytes of output (lines of 100 bytes) to stdout. The NONCE build
// argument makes the RUN run again when it changes.
func LoudDockerfile(bytes int64) string {
	return fmt.Sprintf(`FROM busybox AS base
RUN mkdir -p /app && echo base > /app/base.txt

FROM base AS build
RUN head -c 1000000 /dev/urandom > /artifact

FROM build AS test
ARG NONCE
RUN echo "$NONCE" && yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789 | head -c %d

FROM busybox AS final
COPY --from=build /artifact /artifact
`, bytes)
}

// WriteDockerfile writes a Dockerfile into dir.
func WriteDockerfile(dir, content string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(content), 0o644)
}
