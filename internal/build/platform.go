package build

import (
	"fmt"
	"slices"

	"github.com/containerd/platforms"
)

// Known operating systems and architectures (Go's, as OCI images use them).
// platforms.Parse accepts any word; a typo would otherwise build an image
// for a platform that does not exist.
var (
	knownOS    = []string{"linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos", "aix", "plan9", "wasip1", "js"}
	knownArchs = []string{"amd64", "386", "arm64", "arm", "ppc64le", "ppc64", "s390x", "riscv64", "mips64le", "mips64", "mipsle", "mips", "loong64", "wasm"}
)

// CheckPlatform says whether p names a real platform, like linux/arm64/v8.
func CheckPlatform(p string) error {
	pl, err := platforms.Parse(p)
	if err != nil {
		return err
	}
	pl = platforms.Normalize(pl)
	if !slices.Contains(knownOS, pl.OS) {
		return fmt.Errorf("unknown operating system %q", pl.OS)
	}
	if !slices.Contains(knownArchs, pl.Architecture) {
		return fmt.Errorf("unknown architecture %q", pl.Architecture)
	}
	return nil
}
