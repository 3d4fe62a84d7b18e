package syncio

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// lines fails the test when two writes interleave: it is not safe for
// concurrent use on its own.
type lines struct {
	t      *testing.T
	busy   bool
	buf    bytes.Buffer
	closed bool
}

func (l *lines) Write(p []byte) (int, error) {
	if l.busy {
		l.t.Error("two writes at once")
	}
	l.busy = true
	defer func() { l.busy = false }()
	return l.buf.Write(p)
}

func (l *lines) Close() error { l.closed = true; return nil }

func TestWriter(t *testing.T) {
	l := &lines{t: t}
	w := New(l)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 100 {
				w.Write([]byte(strings.Repeat(string(rune('a'+i)), 10) + "\n"))
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil || !l.closed {
		t.Errorf("Close: %v, closed %v", err, l.closed)
	}
	for _, line := range strings.Split(strings.TrimSuffix(l.buf.String(), "\n"), "\n") {
		if len(line) != 10 || strings.Count(line, line[:1]) != 10 {
			t.Fatalf("interleaved line %q", line)
		}
	}
	// A writer that does not close is closed without error.
	if err := New(&bytes.Buffer{}).Close(); err != nil {
		t.Error(err)
	}
}
