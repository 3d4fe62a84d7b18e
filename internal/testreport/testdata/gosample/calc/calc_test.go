package calc

import (
	"testing"
	"time"
)

func TestAdd(t *testing.T) {
	if got := Add(2, 3); got != 5 {
		t.Errorf("Add(2, 3) = %d, want 5", got)
	}
}

func TestSub(t *testing.T) {
	time.Sleep(30 * time.Millisecond)
	if got := Sub(5, 3); got != 2 {
		t.Errorf("Sub(5, 3) = %d, want 2", got)
	}
}

func TestSkipped(t *testing.T) {
	t.Skip("not implemented yet")
}

func TestTable(t *testing.T) {
	cases := []struct {
		name    string
		a, b, w int
	}{
		{"small", 1, 1, 2},
		{"negative", -1, -1, -3},
		{"zero", 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Add(c.a, c.b); got != c.w {
				t.Errorf("Add(%d, %d) = %d, want %d", c.a, c.b, got, c.w)
			}
		})
	}
}
