package boom

import "testing"

func TestOK(t *testing.T) {}

func TestPanic(t *testing.T) {
	var m *map[string]int
	_ = Get(m, "k")
}

func TestNeverRuns(t *testing.T) {}
