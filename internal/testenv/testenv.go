// Package testenv gives tests the real daemons that ./hack/testenv starts.
// Every test that needs a builder or a registry gets it here, so the rules
// for finding them live in one place: ./hack/test exports the addresses and
// sets STAGEGATE_INTEGRATION=1, which turns a missing daemon into a failure
// instead of a skip.
package testenv

import (
	"os"
	"testing"
)

func required() bool { return os.Getenv("STAGEGATE_INTEGRATION") == "1" }

func lookup(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if required() {
			t.Fatalf("%s is not set: run the tests with ./hack/test (it starts the daemons)", name)
		}
		t.Skipf("%s is not set: integration test skipped (./hack/test runs it)", name)
	}
	return v
}

// BuildKitHost is the address of the standalone buildkitd.
func BuildKitHost(t testing.TB) string { t.Helper(); return lookup(t, "BUILDKIT_HOST") }

// Registry is the host:port of the local registry that holds library/busybox.
func Registry(t testing.TB) string { t.Helper(); return lookup(t, "STAGEGATE_TEST_REGISTRY") }

// Buildctl is the path of the buildctl binary of the same BuildKit version.
func Buildctl(t testing.TB) string { t.Helper(); return lookup(t, "STAGEGATE_TEST_BUILDCTL") }

// Buildkitd is the path of the buildkitd binary, for tests that start their own daemon.
func Buildkitd(t testing.TB) string { t.Helper(); return lookup(t, "STAGEGATE_TEST_BUILDKITD") }
