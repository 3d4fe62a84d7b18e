package progress

import "strings"

// Tail keeps the last lines written to it; see tail.
type Tail = tail

// NewTail returns a Tail that keeps n lines.
func NewTail(n int) *Tail { return newTail(n) }

// tail keeps the last n complete lines written to it, each cut at
// MaxLineBytes, plus the unfinished last line: memory stays bounded however
// much a step prints and however long its lines are.
type tail struct {
	lines   []string // ring buffer
	next    int
	full    bool
	partial strings.Builder
	cut     bool // the partial line was cut at MaxLineBytes
}

func newTail(n int) *tail { return &tail{lines: make([]string, n)} }

func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := indexNewline(p)
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := MaxLineBytes - t.partial.Len(); room > 0 {
			if len(chunk) > room {
				chunk, t.cut = chunk[:room], true
			}
			t.partial.Write(chunk)
		} else if len(chunk) > 0 {
			t.cut = true
		}
		if i < 0 {
			return n, nil
		}
		t.push()
		p = p[i+1:]
	}
	return n, nil
}

func indexNewline(p []byte) int {
	for i, b := range p {
		if b == '\n' {
			return i
		}
	}
	return -1
}

func (t *tail) push() {
	line := strings.TrimSuffix(t.partial.String(), "\r")
	if t.cut {
		line += " [line cut]"
	}
	t.partial.Reset()
	t.cut = false
	if len(t.lines) == 0 {
		return
	}
	t.lines[t.next] = line
	t.next = (t.next + 1) % len(t.lines)
	if t.next == 0 {
		t.full = true
	}
}

// Lines returns the kept lines, oldest first, with the unfinished line last.
func (t *tail) Lines() []string {
	if t == nil {
		return nil
	}
	var out []string
	if t.full {
		out = append(out, t.lines[t.next:]...)
	}
	out = append(out, t.lines[:t.next]...)
	if t.partial.Len() > 0 {
		out = append(out, t.partial.String())
		if len(out) > len(t.lines) {
			out = out[1:]
		}
	}
	return out
}
