package gate

import (
	"bytes"
	"io"
	"sync"
)

// prefixWriter writes each line with a prefix, so the output of concurrent
// test runs stays readable in one log.
type prefixWriter struct {
	mu      sync.Mutex
	w       io.Writer
	prefix  string
	partial []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.partial = append(p.partial, b...)
			if len(p.partial) < 64<<10 {
				return n, nil
			}
			// Flush a very long line in pieces: memory stays bounded.
			line := append(append([]byte(p.prefix), p.partial...), '\n')
			p.partial = p.partial[:0]
			_, err := p.w.Write(line)
			return n, err
		}
		line := append(append([]byte(p.prefix), p.partial...), b[:i+1]...)
		p.partial = p.partial[:0]
		if _, err := p.w.Write(line); err != nil {
			return n, err
		}
		b = b[i+1:]
	}
	return n, nil
}
