package github

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Defaults of RetryTransport.
const (
	DefaultMaxAttempts    = 4
	DefaultWaitBudget     = 90 * time.Second
	DefaultMaxRetryAfter  = 60 * time.Second
	DefaultBaseDelay      = 500 * time.Millisecond
	DefaultMaxDelay       = 10 * time.Second
	DefaultAttemptTimeout = 30 * time.Second
)

// secondaryRateLimitWait is how long GitHub asks clients to wait after a
// secondary rate limit that came without Retry-After: "at least one minute".
const secondaryRateLimitWait = 60 * time.Second

// peekLimit bounds how much of a 403 body is read to tell a rate limit from
// a permission problem.
const peekLimit = 64 << 10

// RetryTransport is an http.RoundTripper that retries what is worth retrying:
// 429, 500, 502, 503, 504, 403 rate limits, connection errors and timeouts.
// It waits as the server asks (Retry-After, X-RateLimit-Reset) or backs off
// exponentially with jitter, and is bounded by MaxAttempts and WaitBudget;
// when they run out it returns the last response or error as they were. It
// never retries other 4xx answers such as 401, 403 (not rate limits), 404 or
// 422. Zero fields take the defaults above.
type RetryTransport struct {
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// MaxAttempts bounds the attempts per request, the first included.
	MaxAttempts int
	// WaitBudget bounds the time spent waiting between attempts of one request.
	WaitBudget time.Duration
	// MaxRetryAfter is the longest single wait the server may ask for; when
	// it asks for more, the transport gives up at once rather than retry
	// before it is allowed to.
	MaxRetryAfter time.Duration
	// BaseDelay is the first backoff delay, doubled on each attempt up to
	// MaxDelay, with jitter.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// AttemptTimeout bounds each attempt (headers; the body is read under
	// the same deadline). Negative disables it.
	AttemptTimeout time.Duration
	// Sleep waits for d or until ctx is done; nil uses a timer. Tests inject
	// one that returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock, for X-RateLimit-Reset; nil is time.Now.
	Now func() time.Time
	// Jitter returns a number in [0, 1); nil is math/rand.
	Jitter func() float64
	// Logf, when set, is told about each retry.
	Logf func(format string, args ...any)
}

func (t *RetryTransport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

func (t *RetryTransport) sleep(ctx context.Context, d time.Duration) error {
	if t.Sleep != nil {
		return t.Sleep(ctx, d)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

func (t *RetryTransport) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *RetryTransport) logf(format string, args ...any) {
	if t.Logf != nil {
		t.Logf(format, args...)
	}
}

// RoundTrip implements http.RoundTripper.
func (t *RetryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	maxAttempts := max(orDefault(t.MaxAttempts, DefaultMaxAttempts), 1)
	budget := orDefault(t.WaitBudget, DefaultWaitBudget)
	// A body that cannot be rewound allows a single attempt.
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		maxAttempts = 1
	}
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		resp, err := t.attempt(req, attempt)
		if ctx.Err() != nil {
			// The caller gave up: no retry, and its error is the one to see.
			if resp != nil {
				resp.Body.Close()
			}
			return nil, ctx.Err()
		}
		wait, reason, retry := t.classify(resp, err, attempt)
		if !retry || attempt >= maxAttempts {
			return resp, err
		}
		if wait > orDefault(t.MaxRetryAfter, DefaultMaxRetryAfter) || waited+wait > budget {
			t.logf("github: %s %s: %s; not retrying: waiting %s would exceed the limits", req.Method, req.URL.Path, reason, wait.Round(time.Millisecond))
			return resp, err
		}
		if resp != nil {
			// Let the connection be reused.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, peekLimit))
			resp.Body.Close()
		}
		t.logf("github: %s %s: %s; retrying in %s (attempt %d of %d)", req.Method, req.URL.Path, reason, wait.Round(time.Millisecond), attempt+1, maxAttempts)
		if err := t.sleep(ctx, wait); err != nil {
			return nil, err
		}
		waited += wait
	}
}

// attempt sends one copy of req, with a rewound body and, if configured, a
// deadline of its own that lasts until the response body is closed.
func (t *RetryTransport) attempt(req *http.Request, attempt int) (*http.Response, error) {
	ctx := req.Context()
	cancel := context.CancelFunc(func() {})
	if timeout := orDefault(t.AttemptTimeout, DefaultAttemptTimeout); timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	}
	r := req.Clone(ctx)
	if attempt > 1 && req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			cancel()
			return nil, fmt.Errorf("rewinding the request body: %w", err)
		}
		r.Body = body
	}
	resp, err := t.base().RoundTrip(r)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody releases an attempt's deadline when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// classify says whether an attempt's outcome is worth another attempt, after
// how long and why.
func (t *RetryTransport) classify(resp *http.Response, err error, attempt int) (time.Duration, string, bool) {
	if err != nil {
		if !retryableError(err) {
			return 0, "", false
		}
		return t.backoff(attempt), err.Error(), true
	}
	reason := "HTTP " + strconv.Itoa(resp.StatusCode)
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		if d, ok := t.serverWait(resp); ok {
			return d, reason, true
		}
		return t.backoff(attempt), reason, true
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if d, ok := t.serverWait(resp); ok {
			return d, reason, true
		}
		return t.backoff(attempt), reason, true
	case http.StatusForbidden:
		secondary := peekSecondaryRateLimit(resp)
		if d, ok := t.serverWait(resp); ok {
			return d, reason + " (rate limited)", true
		}
		if secondary {
			return secondaryRateLimitWait, reason + " (secondary rate limit)", true
		}
		if resp.Header.Get("X-RateLimit-Remaining") == "0" {
			return t.backoff(attempt), reason + " (rate limited)", true
		}
	}
	return 0, "", false
}

// serverWait is the wait the server asked for: Retry-After (seconds or an
// HTTP date), or X-RateLimit-Reset when no request is left.
func (t *RetryTransport) serverWait(resp *http.Response) (time.Duration, bool) {
	if v := strings.TrimSpace(resp.Header.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.Duration(max(s, 0)) * time.Second, true
		}
		if at, err := http.ParseTime(v); err == nil {
			return max(at.Sub(t.now()), 0), true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if s, err := strconv.ParseInt(strings.TrimSpace(resp.Header.Get("X-RateLimit-Reset")), 10, 64); err == nil {
			// One second of slack: the reset is rounded down to a second.
			return max(time.Unix(s, 0).Sub(t.now())+time.Second, 0), true
		}
	}
	return 0, false
}

// backoff is the exponential delay before attempt+1, with equal jitter.
func (t *RetryTransport) backoff(attempt int) time.Duration {
	base := orDefault(t.BaseDelay, DefaultBaseDelay)
	maxDelay := orDefault(t.MaxDelay, DefaultMaxDelay)
	d := base
	for i := 1; i < attempt && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	j := rand.Float64
	if t.Jitter != nil {
		j = t.Jitter
	}
	return d/2 + time.Duration(j()*float64(d/2))
}

// peekSecondaryRateLimit reports whether a 403's body mentions a secondary
// rate limit, leaving the body readable for the caller.
func peekSecondaryRateLimit(resp *http.Response) bool {
	head, err := io.ReadAll(io.LimitReader(resp.Body, peekLimit))
	resp.Body = &struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	if err != nil {
		return false
	}
	lower := strings.ToLower(string(head))
	return strings.Contains(lower, "secondary rate limit") || strings.Contains(lower, "abuse detection")
}

// retryableError reports whether a transport error may go away on its own:
// everything but certificate problems and requests that cannot be sent.
func retryableError(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &unknownAuthority), errors.As(err, &hostname),
		errors.As(err, &invalid), errors.As(err, &verification):
		return false
	case strings.Contains(err.Error(), "unsupported protocol scheme"):
		return false
	}
	return true
}
