package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/moby/buildkit/util/grpcerrors"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// GoneError says the builder went away in the middle of a build.
type GoneError struct {
	Address string
	Err     error
}

func (e *GoneError) Error() string {
	return fmt.Sprintf("the builder at %s went away during the build (%v): it stopped, crashed or lost its connection; check that it is running and retry", e.Address, Explain(e.Err))
}

func (e *GoneError) Unwrap() error { return e.Err }

// builderGone reports whether err means the connection to the builder was
// lost (as opposed to a build step failing).
func builderGone(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	code := grpcerrors.Code(err)
	if code == codes.Unknown {
		if st, ok := status.FromError(err); ok {
			code = st.Code()
		}
	}
	if code == codes.Unavailable {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"error reading from server: EOF", "connection reset by peer", "transport is closing", "connection refused", "broken pipe"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// gone wraps err as a GoneError when the builder went away.
func (b *Builder) gone(err error) error {
	if builderGone(err) {
		return &GoneError{Address: b.Address, Err: err}
	}
	return err
}
