package emulator

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// finished returns a channel that receives every logged request as it completes, so tests can
// wait for the server side of a request without sleeping.
func finished(s *Server) <-chan Request {
	ch := make(chan Request, 64)
	s.mu.Lock()
	s.recordHook = func(r Request) { ch <- r }
	s.mu.Unlock()
	return ch
}

func authoriseRaw(t *testing.T, s *Server, key string) response {
	t.Helper()
	return postJSON(t, s.URL()+"api/authorise", mustJSON(t, map[string]string{"accessKey": key}))
}

// leaveEarly posts body to /api/authorise from a client that gives up after 100 ms (the
// server holds its answer back), and returns what the request log records for it.
func leaveEarly(t *testing.T, s *Server, done <-chan Request, body string) Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.URL()+"api/authorise", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("client error = %v, want its deadline (the answer is held back)", err)
	}
	select {
	case r := <-done:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the server kept waiting after the client left")
		return Request{}
	}
}

func TestFaultStatusBodyAndCount(t *testing.T) {
	s := start(t, Config{})
	key := s.AccessKey()
	s.InjectFault(Fault{Path: "/api/authorise", Status: 500, Body: "boom", Count: 2})
	for range 2 {
		r := authoriseRaw(t, s, key)
		wantStatus(t, r, 500)
		if string(r.body) != "boom" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Fatalf("fault body %q (%s)", r.body, r.header.Get("Content-Type"))
		}
	}
	wantStatus(t, authoriseRaw(t, s, key), 200)

	// Faults on one path queue in order; other paths are untouched.
	s.InjectFault(Fault{Path: "/api/authorise", Status: 503, Body: `{"error":"temporarily_unavailable"}`, Count: 1})
	s.InjectFault(Fault{Path: "/api/authorise", Status: 402, Count: 1})
	s.InjectFault(Fault{Path: "/api/authorise", Status: 402, NoBody: true, Count: 1})
	wantStatus(t, request(t, "GET", s.URL()+".well-known/jwks.json", "", ""), 200)
	r := authoriseRaw(t, s, key)
	wantStatus(t, r, 503)
	if r.header.Get("Content-Type") != "application/json" || string(r.body) != `{"error":"temporarily_unavailable"}` {
		t.Errorf("JSON fault: %q %s", r.header.Get("Content-Type"), r.body)
	}
	r = authoriseRaw(t, s, key)
	wantStatus(t, r, 402)
	wantBody(t, r, `\{"error":"access_denied","error_description":"`+usageLimitDescription+`","cs_code":"USAGE_LIMIT_EXCEEDED"\}`)
	r = authoriseRaw(t, s, key)
	wantStatus(t, r, 402)
	if len(r.body) != 0 {
		t.Errorf("noBody fault sent %q", r.body)
	}
	wantStatus(t, authoriseRaw(t, s, key), 200)
}

func TestFaultWithoutCountLastsUntilCleared(t *testing.T) {
	s := start(t, Config{})
	s.InjectFault(Fault{Path: "/oauth/device/code", Status: 429})
	for range 3 {
		wantOAuthError(t, request(t, "POST", s.URL()+"oauth/device/code", "application/x-www-form-urlencoded", "client_id=cli"), 429, "temporarily_unavailable")
	}
	s.ClearFaults()
	wantStatus(t, request(t, "POST", s.URL()+"oauth/device/code", "application/x-www-form-urlencoded", "client_id=cli"), 200)
}

func TestFaultDelayThenServe(t *testing.T) {
	s := start(t, Config{})
	s.InjectFault(Fault{Path: "/api/authorise", Delay: 150 * time.Millisecond, Count: 1})
	began := time.Now()
	wantStatus(t, authoriseRaw(t, s, s.AccessKey()), 200)
	if took := time.Since(began); took < 150*time.Millisecond {
		t.Errorf("delayed request took %v", took)
	}
}

func TestFaultDelayGivesUpWhenTheClientLeaves(t *testing.T) {
	s := start(t, Config{})
	done := finished(s)
	s.InjectFault(Fault{Path: "/api/authorise", Delay: time.Minute, Status: 500, Count: 1})
	began := time.Now()
	if r := leaveEarly(t, s, done, "{}"); r.Status != 0 || r.Path != "/api/authorise" {
		t.Errorf("logged %+v", r)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("took %v", took)
	}
}

func TestFaultResetClosesTheConnectionWithoutAResponse(t *testing.T) {
	s := start(t, Config{})
	done := finished(s)
	s.InjectFault(Fault{Path: "/oauth/token", Reset: true, Count: 1})
	req, _ := http.NewRequest("POST", s.URL()+"oauth/token", strings.NewReader("grant_type=refresh_token"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got a response (%d) from a reset connection", resp.StatusCode)
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("client saw %v, want a connection reset", err)
	}
	if r := <-done; r.Status != 0 {
		t.Errorf("logged status %d, want 0", r.Status)
	}
	if n := s.RequestCount("/oauth/token"); n != 1 {
		t.Errorf("RequestCount = %d", n)
	}
	// The fault was used up: the next request is served.
	wantOAuthError(t, refresh(t, s, "x"), 400, "invalid_grant")
}

func TestFaultControlAPI(t *testing.T) {
	s := start(t, Config{})
	r := postJSON(t, s.URL()+"_emulator/faults", `{"path":"/api/authorise","status":503,"body":"down","delayMs":1,"count":2}`)
	wantStatus(t, r, 200)
	wantBody(t, r, `\{"faults":\[\{"path":"/api/authorise","status":503,"body":"down","delayMs":1,"count":2,"remaining":2\}\]\}`)
	wantStatus(t, authoriseRaw(t, s, s.AccessKey()), 503)
	r = request(t, "GET", s.URL()+"_emulator/faults", "", "")
	wantBody(t, r, `\{"faults":\[\{"path":"/api/authorise","status":503,"body":"down","delayMs":1,"count":2,"remaining":1\}\]\}`)
	r = postJSON(t, s.URL()+"_emulator/faults", `{"path":"/zerokms/create-client","reset":true}`)
	wantStatus(t, r, 200)
	r = request(t, "DELETE", s.URL()+"_emulator/faults", "", "")
	wantStatus(t, r, 200)
	wantBody(t, r, `\{"faults":\[\]\}`)
	wantStatus(t, authoriseRaw(t, s, s.AccessKey()), 200)

	for _, bad := range []string{
		`{"path":"/_emulator/state","status":500}`,
		`{"path":"/x","delayMs":-1}`,
		`{"path":"/x","count":-1}`,
		`{"path":"/x","status":1000}`,
		`{"path":"/x","sttaus":500}`,
	} {
		wantOAuthError(t, postJSON(t, s.URL()+"_emulator/faults", bad), 400, "invalid_request")
	}
	// Control paths are never faulted or logged.
	if n := s.RequestCount("/_emulator/faults"); n != 0 {
		t.Errorf("control requests logged: %d", n)
	}
}

// delayAfter serves the request for real at once and holds the answer back: a client that
// gives up meanwhile has still had its request processed (a refresh token rotated, say).
func TestFaultDelayAfterServesThenHoldsTheAnswer(t *testing.T) {
	s := start(t, Config{})
	done := finished(s)
	wantStatus(t, postJSON(t, s.URL()+"_emulator/faults", `{"path":"/api/authorise","delayAfterMs":60000,"count":1}`), 200)
	logged := leaveEarly(t, s, done, mustJSON(t, map[string]string{"accessKey": s.AccessKey()}))
	if logged.Status != 200 || logged.Path != "/api/authorise" {
		t.Errorf("logged %+v, want the request processed (200)", logged)
	}

	s.InjectFault(Fault{Path: "/api/authorise", DelayAfter: 150 * time.Millisecond, Count: 1})
	began := time.Now()
	r := authoriseRaw(t, s, s.AccessKey())
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.body), `"accessToken"`) {
		t.Errorf("held answer is not the real one")
	}
	if took := time.Since(began); took < 150*time.Millisecond {
		t.Errorf("held answer came after %v", took)
	}
}
