package gate

import (
	"bytes"
	"io"
)

// prefixWriter writes each line with a prefix, so the output of concurrent
// test runs stays readable in one log. It is not safe for concurrent use:
// wrap it in a syncio.Writer.
type prefixWriter struct {
	w       io.Writer
	prefix  string
	partial []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
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
