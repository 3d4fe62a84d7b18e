package github

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stub answers each attempt with the next of its replies and records the
// bodies it was sent.
type stub struct {
	mu      sync.Mutex
	replies []func(*http.Request) (*http.Response, error)
	bodies  []string
}

func (s *stub) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := ""
	if req.Body != nil {
		data, _ := io.ReadAll(req.Body)
		req.Body.Close()
		b = string(data)
	}
	s.bodies = append(s.bodies, b)
	i := min(len(s.bodies)-1, len(s.replies)-1)
	return s.replies[i](req)
}

func reply(status int, headers map[string]string, body string) func(*http.Request) (*http.Response, error) {
	return func(req *http.Request) (*http.Response, error) {
		h := http.Header{}
		for k, v := range headers {
			h.Set(k, v)
		}
		return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
	}
}

func fail(err error) func(*http.Request) (*http.Response, error) {
	return func(*http.Request) (*http.Response, error) { return nil, err }
}

func newTransport(s *stub, sl *sleeps) *RetryTransport {
	return &RetryTransport{Base: s, Sleep: sl.sleep, Jitter: func() float64 { return 0 }, Now: func() time.Time { return testClock }}
}

func do(t *testing.T, rt http.RoundTripper, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPatch, "https://api.github.com/repos/o/r/check-runs/1", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return rt.RoundTrip(req)
}

func TestRetryTransport(t *testing.T) {
	ok := reply(200, nil, `{"id":1}`)
	date := testClock.Add(4 * time.Second).Format(http.TimeFormat)
	tests := []struct {
		name      string
		replies   []func(*http.Request) (*http.Response, error)
		wantCalls int
		wantSleep string
		wantCode  int // of the response returned; 0 for an error
	}{
		{"success", nil, 1, "[]", 200},
		{"400", []func(*http.Request) (*http.Response, error){reply(400, nil, "")}, 1, "[]", 400},
		{"401", []func(*http.Request) (*http.Response, error){reply(401, nil, `{"message":"Bad credentials"}`)}, 1, "[]", 401},
		{"403 permission", []func(*http.Request) (*http.Response, error){reply(403, nil, `{"message":"Resource not accessible by integration"}`)}, 1, "[]", 403},
		{"404", []func(*http.Request) (*http.Response, error){reply(404, nil, "")}, 1, "[]", 404},
		{"422", []func(*http.Request) (*http.Response, error){reply(422, nil, `{"message":"Validation Failed"}`)}, 1, "[]", 422},
		{"501", []func(*http.Request) (*http.Response, error){reply(501, nil, "")}, 1, "[]", 501},
		{"500 then ok", []func(*http.Request) (*http.Response, error){reply(500, nil, ""), ok}, 2, "[250ms]", 200},
		{"backoff doubles", []func(*http.Request) (*http.Response, error){reply(502, nil, ""), reply(503, nil, ""), reply(504, nil, ""), ok}, 4, "[250ms 500ms 1s]", 200},
		{"attempts run out", []func(*http.Request) (*http.Response, error){reply(500, nil, ""), reply(500, nil, ""), reply(500, nil, ""), reply(500, nil, "last")}, 4, "[250ms 500ms 1s]", 500},
		{"Retry-After date", []func(*http.Request) (*http.Response, error){reply(429, map[string]string{"Retry-After": date}, ""), ok}, 2, "[4s]", 200},
		{"403 Retry-After", []func(*http.Request) (*http.Response, error){reply(403, map[string]string{"Retry-After": "2"}, "{}"), ok}, 2, "[2s]", 200},
		{"403 remaining 0 without reset", []func(*http.Request) (*http.Response, error){reply(403, map[string]string{"X-RateLimit-Remaining": "0"}, "{}"), ok}, 2, "[250ms]", 200},
		{"429 remaining 0 with reset", []func(*http.Request) (*http.Response, error){reply(429, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(testClock.Unix() + 9)}, ""), ok}, 2, "[10s]", 200},
		{"rate limit reset too far", []func(*http.Request) (*http.Response, error){reply(403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(testClock.Unix() + 3000)}, "")}, 1, "[]", 403},
		{"secondary rate limit in body", []func(*http.Request) (*http.Response, error){reply(403, nil, `{"message":"You have exceeded a secondary rate limit."}`), ok}, 2, "[1m0s]", 200},
		{"connection reset", []func(*http.Request) (*http.Response, error){fail(syscall.ECONNRESET), ok}, 2, "[250ms]", 200},
		{"EOF", []func(*http.Request) (*http.Response, error){fail(io.ErrUnexpectedEOF), ok}, 2, "[250ms]", 200},
		{"bad certificate", []func(*http.Request) (*http.Response, error){fail(x509.UnknownAuthorityError{}), ok}, 1, "[]", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &stub{replies: append(tt.replies, ok)}
			sl := &sleeps{}
			resp, err := do(t, newTransport(s, sl), `{"name":"x"}`)
			code := 0
			if err == nil {
				code = resp.StatusCode
				resp.Body.Close()
			}
			if code != tt.wantCode {
				t.Errorf("status %d (err %v), want %d", code, err, tt.wantCode)
			}
			if len(s.bodies) != tt.wantCalls {
				t.Errorf("%d attempts, want %d", len(s.bodies), tt.wantCalls)
			}
			for i, b := range s.bodies {
				if b != `{"name":"x"}` {
					t.Errorf("attempt %d sent %q: the body was not rewound", i+1, b)
				}
			}
			if got := fmt.Sprint(sl.get()); got != tt.wantSleep {
				t.Errorf("waits %s, want %s", got, tt.wantSleep)
			}
		})
	}
}

func TestRetryTransportKeepsBodies(t *testing.T) {
	s := &stub{replies: []func(*http.Request) (*http.Response, error){reply(500, nil, "final answer")}}
	resp, err := do(t, newTransport(s, &sleeps{}), "")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "final answer" {
		t.Errorf("last body = %q", b)
	}
	msg := `{"message":"Resource not accessible by integration"}`
	s = &stub{replies: []func(*http.Request) (*http.Response, error){reply(403, nil, msg)}}
	resp, err = do(t, newTransport(s, &sleeps{}), "")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != msg {
		t.Errorf("403 body after the peek = %q", b)
	}
}

func TestRetryTransportBackoffBounds(t *testing.T) {
	rt := &RetryTransport{BaseDelay: time.Second, MaxDelay: 5 * time.Second}
	for attempt := 1; attempt < 10; attempt++ {
		for _, j := range []float64{0, 0.999} {
			rt.Jitter = func() float64 { return j }
			d := rt.backoff(attempt)
			full := min(time.Second<<(attempt-1), 5*time.Second)
			if d < full/2 || d > full {
				t.Errorf("attempt %d, jitter %v: %s not in [%s, %s]", attempt, j, d, full/2, full)
			}
		}
	}
	var rnd RetryTransport
	for range 100 {
		if d := rnd.backoff(1); d < 250*time.Millisecond || d > 500*time.Millisecond {
			t.Fatalf("default first backoff %s", d)
		}
	}
}

func TestRetryTransportUnrewindableBody(t *testing.T) {
	s := &stub{replies: []func(*http.Request) (*http.Response, error){reply(500, nil, "")}}
	req, _ := http.NewRequest(http.MethodPost, "https://api.github.com/x", io.NopCloser(strings.NewReader("once")))
	req.GetBody = nil
	resp, err := newTransport(s, &sleeps{}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(s.bodies) != 1 {
		t.Errorf("%d attempts with a body that cannot be rewound", len(s.bodies))
	}
}

func TestRetryTransportAttemptTimeout(t *testing.T) {
	var calls int
	hang := &stub{replies: []func(*http.Request) (*http.Response, error){func(req *http.Request) (*http.Response, error) {
		calls++
		<-req.Context().Done()
		return nil, req.Context().Err()
	}}}
	rt := newTransport(hang, &sleeps{})
	rt.AttemptTimeout = 10 * time.Millisecond
	rt.MaxAttempts = 3
	_, err := do(t, rt, "")
	if !errors.Is(err, context.DeadlineExceeded) || calls != 3 {
		t.Errorf("err = %v after %d calls; want 3 timed-out attempts", err, calls)
	}
}

func TestRetryTransportContext(t *testing.T) {
	s := &stub{replies: []func(*http.Request) (*http.Response, error){reply(503, nil, "")}}
	ctx, cancel := context.WithCancel(context.Background())
	rt := newTransport(s, &sleeps{})
	rt.Sleep = func(ctx context.Context, d time.Duration) error {
		cancel()
		return ctx.Err()
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.github.com/x", nil)
	if _, err := rt.RoundTrip(req); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	if len(s.bodies) != 1 {
		t.Errorf("%d attempts after cancellation", len(s.bodies))
	}

	// The default sleep returns as soon as the context is done.
	rt.Sleep = nil
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := rt.sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("sleep: %v after %s", err, time.Since(start))
	}
}
