package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// Conclusion is how a completed check run ended. Only failure blocks a
// required check: success, neutral and skipped all satisfy it.
type Conclusion string

const (
	ConclusionSuccess   Conclusion = "success"
	ConclusionFailure   Conclusion = "failure"
	ConclusionCancelled Conclusion = "cancelled"
	ConclusionSkipped   Conclusion = "skipped"
	ConclusionNeutral   Conclusion = "neutral"
)

var (
	// ErrForbidden: GitHub refused with 403 for another reason than a rate
	// limit, typically a read-only token (a pull request from a fork, or a
	// job without `permissions: checks: write`).
	ErrForbidden = errors.New("github: forbidden")
	// ErrUnauthorized: GitHub did not accept the token (401).
	ErrUnauthorized = errors.New("github: bad credentials")
	// ErrRejected: GitHub rejected the request as invalid (422); it is not
	// retried.
	ErrRejected = errors.New("github: request rejected")
	// ErrRateLimited: GitHub's rate limit held after the retries (403 or
	// 429).
	ErrRateLimited = errors.New("github: rate limited")
)

// Run is a check run created by Checks.
type Run struct {
	ID      int64
	Name    string
	HTMLURL string
}

// Checks creates and completes check runs on the event's head commit.
type Checks struct {
	ev         *Event
	client     *gh.Client
	externalID string
	now        func() time.Time
}

type config struct {
	httpClient *http.Client
	retry      RetryTransport
	tweaks     []func(*RetryTransport)
	externalID string
	now        func() time.Time
}

// Option configures NewChecks.
type Option func(*config)

// WithHTTPClient sends requests through c: its Transport (wrapped by the
// retrying transport) and its Timeout, which bounds a whole call, retries
// included.
func WithHTTPClient(c *http.Client) Option { return func(o *config) { o.httpClient = c } }

// WithTimeout bounds each attempt of a request (default 30 s).
func WithTimeout(d time.Duration) Option {
	return func(o *config) { o.retry.AttemptTimeout = d }
}

// WithRetry adjusts the retry policy: attempts, wait budget, sleep, logging.
// Base is ignored: it comes from WithHTTPClient.
func WithRetry(f func(*RetryTransport)) Option {
	return func(o *config) { o.tweaks = append(o.tweaks, f) }
}

// WithExternalID sets external_id on the check runs created.
func WithExternalID(id string) Option { return func(o *config) { o.externalID = id } }

// WithClock replaces time.Now for started_at and completed_at.
func WithClock(now func() time.Time) Option { return func(o *config) { o.now = now } }

var shaPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

// NewChecks returns a client for ev's repository that authenticates with
// token. ev.APIURL is used as it is: on GitHub Enterprise Server it already
// ends in /api/v3.
func NewChecks(ev *Event, token string, opts ...Option) (*Checks, error) {
	if ev == nil {
		return nil, errors.New("github: no event")
	}
	if token == "" {
		return nil, errors.New("github: no token")
	}
	if ev.Owner == "" || ev.Repo == "" {
		return nil, errors.New("github: the event names no repository")
	}
	if !shaPattern.MatchString(ev.HeadSHA) {
		return nil, fmt.Errorf("github: head commit %q is not a 40-character hex SHA", ev.HeadSHA)
	}
	cfg := config{now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	hc := &http.Client{}
	if cfg.httpClient != nil {
		c := *cfg.httpClient
		hc = &c
	}
	rt := cfg.retry
	for _, f := range cfg.tweaks {
		f(&rt)
	}
	rt.Base = hc.Transport
	hc.Transport = &rt

	apiURL := ev.APIURL
	if apiURL == "" {
		apiURL = defaultAPIURL
	}
	base, err := url.Parse(strings.TrimRight(apiURL, "/") + "/")
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("github: API URL %q is not an http(s) URL", apiURL)
	}
	client := gh.NewClient(hc).WithAuthToken(token)
	client.BaseURL = base
	client.UserAgent = "stagegate"
	return &Checks{ev: ev, client: client, externalID: cfg.externalID, now: cfg.now}, nil
}

// Start creates an in-progress check run called name.
func (c *Checks) Start(ctx context.Context, name string, out Output) (*Run, error) {
	name, err := cleanName(name)
	if err != nil {
		return nil, err
	}
	opts := c.createOptions(name)
	opts.Status = gh.String("in_progress")
	opts.StartedAt = &gh.Timestamp{Time: c.now()}
	if out != (Output{}) {
		o := cleanOutput(out, name)
		opts.Output = ghOutput(o, nil)
	}
	cr, _, err := c.client.Checks.CreateCheckRun(ctx, c.ev.Owner, c.ev.Repo, opts)
	if err != nil {
		return nil, fmt.Errorf("create check run %q: %w", name, classify(err))
	}
	return newRun(cr, name), nil
}

// Complete completes run with conclusion and out, and attaches anns: the
// first 50 with the completing request, the rest 50 at a time in further
// updates of the same run. When some batches fail, the others are still
// sent and the error says how many annotations were lost.
func (c *Checks) Complete(ctx context.Context, run *Run, conclusion Conclusion, out Output, anns []Annotation) error {
	if run == nil {
		return errors.New("complete check run: no check run")
	}
	if err := checkConclusion(conclusion); err != nil {
		return fmt.Errorf("complete check run %q: %w", run.Name, err)
	}
	o := cleanOutput(out, run.Name)
	batches := c.batches(anns)
	opts := gh.UpdateCheckRunOptions{
		Name:        run.Name,
		Status:      gh.String("completed"),
		Conclusion:  gh.String(string(conclusion)),
		CompletedAt: &gh.Timestamp{Time: c.now()},
		Output:      ghOutput(o, first(batches)),
	}
	if c.ev.RunURL != "" && validURL(c.ev.RunURL) {
		opts.DetailsURL = gh.String(c.ev.RunURL)
	}
	if _, _, err := c.client.Checks.UpdateCheckRun(ctx, c.ev.Owner, c.ev.Repo, run.ID, opts); err != nil {
		return fmt.Errorf("complete check run %q: %w", run.Name, classify(err))
	}
	return c.appendAnnotations(ctx, run, o, batches)
}

// CreateCompleted creates a check run that is complete from the start, for a
// phase that never ran, with the same handling of annotations as Complete.
func (c *Checks) CreateCompleted(ctx context.Context, name string, conclusion Conclusion, out Output, anns []Annotation) (*Run, error) {
	name, err := cleanName(name)
	if err != nil {
		return nil, err
	}
	if err := checkConclusion(conclusion); err != nil {
		return nil, fmt.Errorf("create check run %q: %w", name, err)
	}
	o := cleanOutput(out, name)
	batches := c.batches(anns)
	now := c.now()
	opts := c.createOptions(name)
	opts.Status = gh.String("completed")
	opts.Conclusion = gh.String(string(conclusion))
	opts.StartedAt = &gh.Timestamp{Time: now}
	opts.CompletedAt = &gh.Timestamp{Time: now}
	opts.Output = ghOutput(o, first(batches))
	cr, _, err := c.client.Checks.CreateCheckRun(ctx, c.ev.Owner, c.ev.Repo, opts)
	if err != nil {
		return nil, fmt.Errorf("create check run %q: %w", name, classify(err))
	}
	run := newRun(cr, name)
	return run, c.appendAnnotations(ctx, run, o, batches)
}

func (c *Checks) createOptions(name string) gh.CreateCheckRunOptions {
	opts := gh.CreateCheckRunOptions{Name: name, HeadSHA: c.ev.HeadSHA}
	if c.ev.RunURL != "" && validURL(c.ev.RunURL) {
		opts.DetailsURL = gh.String(c.ev.RunURL)
	}
	if id := strings.TrimSpace(validText(c.externalID)); id != "" {
		opts.ExternalID = gh.String(id)
	}
	return opts
}

// appendAnnotations sends batches[1:] as updates of run, each with the
// output's title, summary and text, which GitHub requires with annotations.
func (c *Checks) appendAnnotations(ctx context.Context, run *Run, o Output, batches [][]*gh.CheckRunAnnotation) error {
	var firstErr error
	lost, total := 0, 0
	for _, b := range batches {
		total += len(b)
	}
	for i := 1; i < len(batches); i++ {
		opts := gh.UpdateCheckRunOptions{Name: run.Name, Output: ghOutput(o, batches[i])}
		_, _, err := c.client.Checks.UpdateCheckRun(ctx, c.ev.Owner, c.ev.Repo, run.ID, opts)
		if err == nil {
			continue
		}
		err = classify(err)
		if firstErr == nil {
			firstErr = err
		}
		lost += len(batches[i])
		if errors.Is(err, ErrForbidden) || errors.Is(err, ErrUnauthorized) || ctx.Err() != nil {
			for _, b := range batches[i+1:] {
				lost += len(b)
			}
			break
		}
	}
	if firstErr != nil {
		return fmt.Errorf("annotate check run %q: %d of %d annotations not delivered: %w", run.Name, lost, total, firstErr)
	}
	return nil
}

// batches cleans anns and splits them into requests of at most 50.
func (c *Checks) batches(anns []Annotation) [][]*gh.CheckRunAnnotation {
	var out [][]*gh.CheckRunAnnotation
	for i := 0; i < len(anns); i += MaxAnnotationsPerRequest {
		chunk := anns[i:min(i+MaxAnnotationsPerRequest, len(anns))]
		b := make([]*gh.CheckRunAnnotation, len(chunk))
		for j, a := range chunk {
			b[j] = ghAnnotation(cleanAnnotation(a, c.ev.Workspace))
		}
		out = append(out, b)
	}
	return out
}

func first(batches [][]*gh.CheckRunAnnotation) []*gh.CheckRunAnnotation {
	if len(batches) == 0 {
		return nil
	}
	return batches[0]
}

func ghOutput(o Output, anns []*gh.CheckRunAnnotation) *gh.CheckRunOutput {
	out := &gh.CheckRunOutput{
		Title:       gh.String(o.Title),
		Summary:     gh.String(o.Summary),
		Annotations: anns,
	}
	if o.Text != "" {
		out.Text = gh.String(o.Text)
	}
	return out
}

func ghAnnotation(a Annotation) *gh.CheckRunAnnotation {
	out := &gh.CheckRunAnnotation{
		Path:            gh.String(a.Path),
		StartLine:       gh.Int(a.StartLine),
		EndLine:         gh.Int(a.EndLine),
		AnnotationLevel: gh.String(a.Level),
		Message:         gh.String(a.Message),
	}
	if a.StartColumn > 0 {
		out.StartColumn, out.EndColumn = gh.Int(a.StartColumn), gh.Int(a.EndColumn)
	}
	if a.Title != "" {
		out.Title = gh.String(a.Title)
	}
	if a.RawDetails != "" {
		out.RawDetails = gh.String(a.RawDetails)
	}
	return out
}

func newRun(cr *gh.CheckRun, name string) *Run {
	return &Run{ID: cr.GetID(), Name: name, HTMLURL: cr.GetHTMLURL()}
}

func cleanName(name string) (string, error) {
	name = strings.TrimSpace(validText(name))
	if name == "" {
		return "", errors.New("github: a check run needs a name")
	}
	return truncateRunes(name, MaxTitleRunes), nil
}

func checkConclusion(c Conclusion) error {
	switch c {
	case ConclusionSuccess, ConclusionFailure, ConclusionCancelled, ConclusionSkipped, ConclusionNeutral:
		return nil
	}
	return fmt.Errorf("github: unknown conclusion %q", c)
}

// apiError is a failed call, classified; it unwraps to both its kind (one
// of the Err* sentinels) and go-github's error.
type apiError struct {
	kind   error
	status int
	msg    string
	cause  error
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%v (HTTP %d: %s)", e.kind, e.status, e.msg)
}

func (e *apiError) Unwrap() []error { return []error{e.kind, e.cause} }

// classify maps go-github's errors to the package's sentinels, keeping
// GitHub's message.
func classify(err error) error {
	var (
		rate  *gh.RateLimitError
		abuse *gh.AbuseRateLimitError
		resp  *gh.ErrorResponse
	)
	switch {
	case errors.As(err, &rate):
		return &apiError{ErrRateLimited, status(rate.Response), rate.Message, err}
	case errors.As(err, &abuse):
		return &apiError{ErrRateLimited, status(abuse.Response), abuse.Message, err}
	case errors.As(err, &resp):
		msg := resp.Message
		for _, e := range resp.Errors {
			if d := e.Error(); d != "" {
				msg += "; " + d
			}
		}
		if msg == "" {
			msg = http.StatusText(status(resp.Response))
		}
		var kind error
		switch status(resp.Response) {
		case http.StatusForbidden:
			kind = ErrForbidden
			if isRateLimit(resp) {
				kind = ErrRateLimited
			}
		case http.StatusUnauthorized:
			kind = ErrUnauthorized
		case http.StatusUnprocessableEntity:
			kind = ErrRejected
		case http.StatusTooManyRequests:
			kind = ErrRateLimited
		default:
			return err
		}
		return &apiError{kind, status(resp.Response), msg, err}
	}
	return err
}

// isRateLimit tells a 403 rate limit that go-github did not recognise from
// a permission problem, as RetryTransport does.
func isRateLimit(e *gh.ErrorResponse) bool {
	if r := e.Response; r != nil && (r.Header.Get("Retry-After") != "" || r.Header.Get("X-RateLimit-Remaining") == "0") {
		return true
	}
	msg := strings.ToLower(e.Message)
	return strings.Contains(msg, "secondary rate limit") || strings.Contains(msg, "abuse detection")
}

func status(r *http.Response) int {
	if r == nil {
		return 0
	}
	return r.StatusCode
}
