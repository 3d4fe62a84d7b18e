package strutil

import (
	"testing"
	"time"
)

func TestShout(t *testing.T) {
	if got := Shout("hi"); got != "HI!" {
		t.Fatalf("Shout(hi) = %q", got)
	}
}

func TestSlow(t *testing.T) {
	t.Log("taking a while")
	time.Sleep(120 * time.Millisecond)
}

func TestFatal(t *testing.T) {
	t.Log("about to check")
	t.Fatalf("Shout(%q) = %q, want %q", "a", Shout("a"), "A")
}

func TestMultiline(t *testing.T) {
	t.Errorf("mismatch:\ngot:  %q\nwant: %q", Shout("x"), "X")
}

func TestParallel(t *testing.T) {
	for _, c := range []struct {
		name string
		d    time.Duration
	}{{"slower", 40}, {"faster", 20}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			time.Sleep(c.d * time.Millisecond)
		})
	}
}
