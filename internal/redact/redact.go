// Package redact keeps secret values out of everything stagegate prints or
// writes: the build log, the reports and what is sent to GitHub.
package redact

import (
	"bytes"
	"io"
	"sort"
	"strings"

	"github.com/stagegate/stagegate/internal/syncio"
)

// Mask replaces secret values.
const Mask = "***"

// Redactor replaces a fixed set of secret values.
type Redactor struct {
	values   []string // longest first, so a secret containing another is masked whole
	replacer *strings.Replacer
}

// New returns a Redactor for values; empty values are ignored.
func New(values ...string) *Redactor {
	r := &Redactor{}
	seen := map[string]bool{}
	for _, v := range values {
		for _, line := range strings.Split(v, "\n") {
			line = strings.TrimSpace(line)
			if len(line) >= 3 && !seen[line] { // masking "a" would mask every "a"
				seen[line] = true
				r.values = append(r.values, line)
			}
		}
	}
	sort.Slice(r.values, func(i, j int) bool { return len(r.values[i]) > len(r.values[j]) })
	pairs := make([]string, 0, 2*len(r.values))
	for _, v := range r.values {
		pairs = append(pairs, v, Mask)
	}
	r.replacer = strings.NewReplacer(pairs...)
	return r
}

// Values are the values masked.
func (r *Redactor) Values() []string {
	if r == nil {
		return nil
	}
	return r.values
}

// String masks the secrets in s.
func (r *Redactor) String(s string) string {
	if r == nil || len(r.values) == 0 {
		return s
	}
	return r.replacer.Replace(s)
}

// Strings masks each of list in place and returns it.
func (r *Redactor) Strings(list []string) []string {
	for i := range list {
		list[i] = r.String(list[i])
	}
	return list
}

// Writer masks secrets in what is written to w. It passes on whole lines
// only, so a secret split across two writes is still masked; Close writes
// what is left.
func (r *Redactor) Writer(w io.Writer) io.WriteCloser {
	return syncio.New(&writer{r: r, w: w})
}

// writer is what Writer returns, inside a syncio.Writer that serialises
// its writes.
type writer struct {
	r   *Redactor
	w   io.Writer
	buf []byte
}

// maxPending bounds the bytes held back waiting for a newline.
const maxPending = 1 << 20

func (w *writer) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	i := bytes.LastIndexAny(w.buf, "\n\r")
	if i < 0 && len(w.buf) < maxPending {
		return len(p), nil
	}
	if i < 0 {
		i = len(w.buf) - 1
	}
	out := w.r.String(string(w.buf[:i+1]))
	w.buf = append(w.buf[:0], w.buf[i+1:]...)
	if _, err := io.WriteString(w.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *writer) Close() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := io.WriteString(w.w, w.r.String(string(w.buf)))
	w.buf = nil
	return err
}
