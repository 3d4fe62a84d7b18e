package githubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

const (
	token = "ghs_secret"
	sha   = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
)

// send makes one request and returns its status and JSON body. It reports a
// request that could not be made with t.Error, not t.Fatal, so that
// goroutines may call it; the status is then 0.
func send(t *testing.T, method, url, auth string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Error(err)
			return 0, nil
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

type obj = map[string]any

func ann(edit func(a obj)) obj {
	a := obj{"path": "Dockerfile", "start_line": 3, "end_line": 3, "annotation_level": "failure", "message": "boom"}
	if edit != nil {
		edit(a)
	}
	return a
}

func withOutput(out obj) obj {
	return obj{"name": "stagegate", "head_sha": sha, "output": out}
}

func withAnn(a obj) obj {
	return withOutput(obj{"title": "t", "summary": "s", "annotations": []any{a}})
}

func TestRejectsContractViolations(t *testing.T) {
	s := NewServer(t, token)
	s.ExpectRejections()
	runs := s.URL + "/repos/octo-org/hello/check-runs"
	if st, _ := send(t, "POST", runs, "Bearer "+token, obj{"name": "existing", "head_sha": sha}); st != http.StatusCreated {
		t.Fatalf("creating a run: %d", st)
	}
	many := make([]any, 51)
	for i := range many {
		many[i] = ann(nil)
	}
	big := strings.Repeat("a", 65536)
	tests := []struct {
		name   string
		method string
		path   string
		auth   string
		body   any
		want   int
	}{
		{"no token", "POST", runs, "", obj{"name": "x", "head_sha": sha}, 401},
		{"wrong token", "POST", runs, "Bearer nope", obj{"name": "x", "head_sha": sha}, 401},
		{"basic auth", "POST", runs, "Basic " + token, obj{"name": "x", "head_sha": sha}, 401},
		{"not JSON", "POST", runs, "", "name=x", 401},
		{"invalid JSON", "POST", runs, "token " + token, `{"name":`, 400},
		{"JSON array", "POST", runs, "token " + token, `[]`, 400},
		{"no name", "POST", runs, "", nil, 401},
		{"missing name", "POST", runs, "Bearer " + token, obj{"head_sha": sha}, 422},
		{"blank name", "POST", runs, "Bearer " + token, obj{"name": " ", "head_sha": sha}, 422},
		{"missing head_sha", "POST", runs, "Bearer " + token, obj{"name": "x"}, 422},
		{"short head_sha", "POST", runs, "Bearer " + token, obj{"name": "x", "head_sha": "6dcb09b"}, 422},
		{"branch as head_sha", "POST", runs, "Bearer " + token, obj{"name": "x", "head_sha": "refs/heads/main"}, 422},
		{"bad status", "POST", runs, "Bearer " + token, obj{"name": "x", "head_sha": sha, "status": "running"}, 422},
		{"bad conclusion", "POST", runs, "Bearer " + token, obj{"name": "x", "head_sha": sha, "conclusion": "passed"}, 422},
		{"stale conclusion", "POST", runs, "Bearer " + token, obj{"name": "x", "head_sha": sha, "conclusion": "stale"}, 422},
		{"completed without conclusion", "POST", runs, "Bearer " + token, obj{"name": "x", "head_sha": sha, "status": "completed"}, 422},
		{"completed_at without conclusion", "POST", runs, "Bearer " + token, obj{"name": "x", "head_sha": sha, "completed_at": "2025-01-21T09:30:00Z"}, 422},
		{"conclusion with in_progress", "POST", runs, "Bearer " + token, obj{"name": "x", "head_sha": sha, "status": "in_progress", "conclusion": "success"}, 422},
		{"bad started_at", "POST", runs, "Bearer " + token, obj{"name": "x", "head_sha": sha, "started_at": "yesterday"}, 422},
		{"relative details_url", "POST", runs, "Bearer " + token, obj{"name": "x", "head_sha": sha, "details_url": "/actions/runs/1"}, 422},
		{"ftp details_url", "POST", runs, "Bearer " + token, obj{"name": "x", "head_sha": sha, "details_url": "ftp://example.com/x"}, 422},
		{"output without title", "POST", runs, "Bearer " + token, withOutput(obj{"summary": "s"}), 422},
		{"output without summary", "POST", runs, "Bearer " + token, withOutput(obj{"title": "t"}), 422},
		{"summary too long", "POST", runs, "Bearer " + token, withOutput(obj{"title": "t", "summary": big}), 422},
		{"text too long", "POST", runs, "Bearer " + token, withOutput(obj{"title": "t", "summary": "s", "text": big}), 422},
		{"51 annotations", "POST", runs, "Bearer " + token, withOutput(obj{"title": "t", "summary": "s", "annotations": many}), 422},
		{"annotation without path", "POST", runs, "Bearer " + token, withAnn(ann(func(a obj) { delete(a, "path") })), 422},
		{"absolute path", "POST", runs, "Bearer " + token, withAnn(ann(func(a obj) { a["path"] = "/github/workspace/Dockerfile" })), 422},
		{"dot path", "POST", runs, "Bearer " + token, withAnn(ann(func(a obj) { a["path"] = "./Dockerfile" })), 422},
		{"backslash path", "POST", runs, "Bearer " + token, withAnn(ann(func(a obj) { a["path"] = `build\Dockerfile` })), 422},
		{"no start_line", "POST", runs, "Bearer " + token, withAnn(ann(func(a obj) { delete(a, "start_line") })), 422},
		{"no end_line", "POST", runs, "Bearer " + token, withAnn(ann(func(a obj) { delete(a, "end_line") })), 422},
		{"line 0", "POST", runs, "Bearer " + token, withAnn(ann(func(a obj) { a["start_line"], a["end_line"] = 0, 0 })), 422},
		{"end before start", "POST", runs, "Bearer " + token, withAnn(ann(func(a obj) { a["start_line"], a["end_line"] = 5, 4 })), 422},
		{"line as string", "POST", runs, "Bearer " + token, withAnn(ann(func(a obj) { a["start_line"] = "3" })), 422},
		{"columns on several lines", "POST", runs, "Bearer " + token, withAnn(ann(func(a obj) {
			a["end_line"], a["start_column"], a["end_column"] = 4, 1, 2
		})), 422},
		{"column 0", "POST", runs, "Bearer " + token, withAnn(ann(func(a obj) { a["start_column"], a["end_column"] = 0, 2 })), 422},
		{"level error", "POST", runs, "Bearer " + token, withAnn(ann(func(a obj) { a["annotation_level"] = "error" })), 422},
		{"no level", "POST", runs, "Bearer " + token, withAnn(ann(func(a obj) { delete(a, "annotation_level") })), 422},
		{"no message", "POST", runs, "Bearer " + token, withAnn(ann(func(a obj) { delete(a, "message") })), 422},
		{"empty message", "POST", runs, "Bearer " + token, withAnn(ann(func(a obj) { a["message"] = "" })), 422},
		{"message too long", "POST", runs, "Bearer " + token, withAnn(ann(func(a obj) { a["message"] = big })), 422},
		{"raw_details too long", "POST", runs, "Bearer " + token, withAnn(ann(func(a obj) { a["raw_details"] = big })), 422},
		{"title of 256 characters", "POST", runs, "Bearer " + token, withAnn(ann(func(a obj) { a["title"] = strings.Repeat("é", 256) })), 422},
		{"too many actions", "POST", runs, "Bearer " + token, obj{"name": "x", "head_sha": sha, "actions": []obj{
			{"label": "a", "description": "d", "identifier": "i"}, {"label": "a", "description": "d", "identifier": "i"},
			{"label": "a", "description": "d", "identifier": "i"}, {"label": "a", "description": "d", "identifier": "i"}}}, 422},
		{"PATCH unknown run", "PATCH", runs + "/999", "Bearer " + token, obj{"name": "x"}, 404},
		{"PATCH blank name", "PATCH", runs + "/1", "Bearer " + token, obj{"name": ""}, 422},
		{"PATCH head_sha", "PATCH", runs + "/1", "Bearer " + token, obj{"head_sha": sha}, 422},
		{"PATCH bad annotation", "PATCH", runs + "/1", "Bearer " + token, obj{"output": obj{"title": "t", "summary": "s", "annotations": []any{ann(func(a obj) { a["end_line"] = 1 })}}}, 422},
		{"PATCH output without summary", "PATCH", runs + "/1", "Bearer " + token, obj{"output": obj{"title": "t", "annotations": []any{ann(nil)}}}, 422},
		{"PATCH completed without conclusion", "PATCH", runs + "/1", "Bearer " + token, obj{"status": "completed"}, 422},
		{"PATCH other repository", "PATCH", s.URL + "/repos/octo-org/other/check-runs/1", "Bearer " + token, obj{"name": "x"}, 404},
		{"DELETE", "DELETE", runs + "/1", "Bearer " + token, nil, 404},
		{"unknown route", "GET", s.URL + "/repos/octo-org/hello/pulls", "Bearer " + token, nil, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.Violations())
			st, body := send(t, tt.method, tt.path, tt.auth, tt.body)
			if st != tt.want {
				t.Errorf("status %d, want %d (%v)", st, tt.want, body)
			}
			if body["message"] == nil || body["documentation_url"] == nil {
				t.Errorf("body %v lacks message or documentation_url", body)
			}
			if st == 422 {
				if errs, _ := body["errors"].([]any); len(errs) == 0 {
					t.Errorf("422 without errors: %v", body)
				}
			}
			if got := len(s.Violations()); got != before+1 {
				t.Errorf("%d violations recorded, want %d", got, before+1)
			}
		})
	}
	if runs := s.CheckRuns(); len(runs) != 1 || runs[0].Status != "queued" || len(runs[0].Annotations) != 0 {
		t.Errorf("rejected requests changed state: %+v", runs)
	}
}

func TestAcceptsValidRequests(t *testing.T) {
	s := NewServer(t, token)
	runs := s.URL + "/repos/octo-org/hello/check-runs"
	fifty := make([]any, 50)
	for i := range fifty {
		fifty[i] = ann(func(a obj) { a["message"] = fmt.Sprint(i) })
	}
	st, body := send(t, "POST", runs, "token "+token, obj{
		"name": "stagegate / test", "head_sha": strings.ToUpper(sha), "status": "in_progress",
		"started_at": "2025-01-21T09:30:00.123456789Z", "details_url": "https://github.com/octo-org/hello/actions/runs/1",
		"external_id": "", "output": obj{"title": strings.Repeat("é", 300), "summary": strings.Repeat("s", 65535), "annotations": fifty},
	})
	if st != 201 || body["id"] == nil || body["status"] != "in_progress" || body["html_url"] == nil {
		t.Fatalf("POST: %d %v", st, body)
	}
	id := int64(body["id"].(float64))
	run := fmt.Sprintf("%s/%d", runs, id)
	st, _ = send(t, "PATCH", run, "Bearer "+token, obj{"name": "stagegate / test", "output": obj{
		"title": "t2", "summary": "s2", "text": "x",
		"annotations": []any{ann(func(a obj) {
			a["start_column"], a["end_column"], a["title"], a["raw_details"], a["message"] = 2, 9, strings.Repeat("é", 255), "raw", "last"
		})},
	}})
	if st != 200 {
		t.Fatalf("PATCH: %d", st)
	}
	st, body = send(t, "PATCH", run, "Bearer "+token, obj{"conclusion": "failure", "completed_at": "2025-01-21T09:31:00Z"})
	if st != 200 || body["status"] != "completed" || body["conclusion"] != "failure" {
		t.Fatalf("PATCH: %d %v", st, body)
	}
	for _, status := range []string{"queued", "waiting", "requested", "pending"} {
		if st, _ := send(t, "POST", runs, "Bearer "+token, obj{"name": status, "head_sha": sha, "status": status}); st != 201 {
			t.Errorf("status %s: %d", status, st)
		}
	}
	st, body = send(t, "GET", s.URL+"/api/v3/repos/octo-org/hello/check-runs/1", "Bearer "+token, nil)
	if st != 200 || body["output"].(map[string]any)["annotations_count"] != float64(51) {
		t.Errorf("GET: %d %v", st, body)
	}

	got := s.CheckRuns()[0]
	if got.HeadSHA != sha || got.Status != "completed" || got.Conclusion != "failure" || got.CompletedAt == "" || got.DetailsURL == "" {
		t.Errorf("run = %+v", got)
	}
	if got.Output.Title != "t2" || got.Output.Summary != "s2" || got.Output.Text != "x" {
		t.Errorf("output = %+v", got.Output)
	}
	if len(got.Annotations) != 51 || got.Annotations[0].Message != "0" || got.Annotations[49].Message != "49" || got.Annotations[50].Message != "last" || *got.Annotations[50].StartColumn != 2 {
		t.Errorf("annotations out of order or lost: %d", len(got.Annotations))
	}
	reqs := s.Requests()
	if reqs[0].Annotations != 50 || reqs[1].Annotations != 1 || reqs[2].Annotations != 0 || reqs[0].Status != 201 || reqs[1].Method != "PATCH" {
		t.Errorf("requests = %+v", reqs)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Errorf("violations: %v", v)
	}
}

func TestFaults(t *testing.T) {
	s := NewServer(t, token)
	runs := s.URL + "/repos/o/r/check-runs"
	ok := obj{"name": "x", "head_sha": sha}
	s.FailNext("PATCH", 1, 500, nil, "")
	s.FailNext("POST", 2, 429, map[string]string{"Retry-After": "1"}, `{"message":"slow"}`)
	s.FailNext("", 1, 403, nil, `{"message":"Resource not accessible by integration"}`)

	req, _ := http.NewRequest("POST", runs, strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("first POST: %d %v", resp.StatusCode, resp.Header)
	}
	for i, want := range []int{429, 403, 201, 201} {
		if st, _ := send(t, "POST", runs, "Bearer "+token, ok); st != want {
			t.Errorf("POST %d: %d, want %d", i+2, st, want)
		}
	}
	if st, _ := send(t, "PATCH", runs+"/1", "Bearer "+token, obj{"name": "x"}); st != 500 {
		t.Errorf("PATCH: %d", st)
	}
	// A fresh connection each time: the client would retry a GET once on a
	// reused connection that breaks.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	s.Down()
	if _, err := fresh.Post(runs, "application/json", strings.NewReader(`{}`)); err == nil {
		t.Error("a request to a server that is down succeeded")
	}
	s.Up()
	s.FailNext("GET", 1, 0, nil, "")
	if _, err := fresh.Get(runs + "/1"); err == nil {
		t.Error("a dropped connection answered")
	}
	if st, _ := send(t, "GET", runs+"/1", "Bearer "+token, nil); st != 200 {
		t.Errorf("GET after the fault: %d", st)
	}

	reqs := s.Requests()
	var faults, dropped int
	for _, r := range reqs {
		if r.Fault {
			faults++
		}
		if r.Status == 0 {
			dropped++
		}
	}
	if len(reqs) != 9 || faults != 6 || dropped != 2 {
		t.Errorf("%d requests, %d faults, %d dropped; want 9, 6, 2", len(reqs), faults, dropped)
	}
	if len(s.CheckRuns()) != 2 {
		t.Errorf("%d runs, want 2", len(s.CheckRuns()))
	}
}

// recorder is a testing.TB that keeps what the fake reports at cleanup.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
	errors   []string
}

func (r *recorder) Helper()          {}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(f string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(f, a...))
}

func (r *recorder) finish() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func TestViolationsFailTheTest(t *testing.T) {
	for _, expect := range []bool{false, true} {
		rec := &recorder{TB: t}
		s := NewServer(rec, token)
		if expect {
			s.ExpectRejections()
		}
		send(t, "POST", s.URL+"/repos/o/r/check-runs", "Bearer "+token, obj{"name": "x", "head_sha": "nope"})
		rec.finish()
		if failed := len(rec.errors) > 0; failed == expect {
			t.Errorf("ExpectRejections=%v: errors %v", expect, rec.errors)
		}
		if !expect && !strings.Contains(strings.Join(rec.errors, ""), "head_sha") {
			t.Errorf("the failure does not say what was wrong: %v", rec.errors)
		}
	}
}

func TestConcurrentRequests(t *testing.T) {
	s := NewServer(t, token)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _ := send(t, "POST", s.URL+"/repos/o/r/check-runs", "Bearer "+token, obj{"name": fmt.Sprint(i), "head_sha": sha}); code != http.StatusCreated {
				t.Errorf("create check run %d: status %d, want 201", i, code)
			}
			_ = s.CheckRuns()
			_ = s.Requests()
		}()
	}
	wg.Wait()
	if n := len(s.CheckRuns()); n != 20 {
		t.Errorf("%d runs, want 20", n)
	}
	seen := map[int64]bool{}
	for _, r := range s.CheckRuns() {
		if seen[r.ID] {
			t.Errorf("duplicate id %d", r.ID)
		}
		seen[r.ID] = true
	}
}
