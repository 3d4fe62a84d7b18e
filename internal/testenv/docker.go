package testenv

import "testing"

// DockerHost is the address (unix://...) of the Docker Engine that
// ./hack/testenv starts: a dockerd of its own with the containerd image store
// and its embedded BuildKit, whose image store holds busybox:latest (and which
// pulls docker.io images through the test registry).
func DockerHost(t testing.TB) string { t.Helper(); return lookup(t, "DOCKER_HOST") }
