// Package syncio shares one writer between goroutines: each Write reaches it
// whole, never interleaved with another.
package syncio

import (
	"io"
	"sync"
)

// Writer passes each Write, and Close, to the writer it wraps one at a time.
// The writer it wraps can then keep state between writes (a partial line)
// without a lock of its own.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// New serialises the writes to w.
func New(w io.Writer) *Writer { return &Writer{w: w} }

func (s *Writer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Close closes the writer it wraps when that is an io.Closer, after any
// Write in progress.
func (s *Writer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.w.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
