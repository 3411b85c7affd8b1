// Shared test scaffolding: a started emulator on 127.0.0.1 and small HTTP helpers that
// return status, headers and the raw body for byte-level checks.

package emulator

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// start runs an emulator on a free loopback port for the duration of the test.
func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return response{resp.StatusCode, resp.Header, body}
}

func request(t *testing.T, method, u, contentType, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return do(t, req)
}

func postJSON(t *testing.T, u, body string) response {
	t.Helper()
	return request(t, http.MethodPost, u, "application/json", body)
}

func postForm(t *testing.T, u string, form url.Values) response {
	t.Helper()
	return request(t, http.MethodPost, u, "application/x-www-form-urlencoded", form.Encode())
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decode(t *testing.T, r response, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %q: %v", r.body, err)
	}
}

// wantStatus fails the test unless the response has the status.
func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
}

// wantBody fails unless the raw body matches the anchored regular expression.
func wantBody(t *testing.T, r response, pattern string) {
	t.Helper()
	if !regexp.MustCompile(`\A` + pattern + `\n\z`).Match(r.body) {
		t.Fatalf("body %q does not match %s", r.body, pattern)
	}
}

// wantOAuthError checks status and an exact {"error","error_description"} body.
func wantOAuthError(t *testing.T, r response, status int, code string) {
	t.Helper()
	wantStatus(t, r, status)
	wantBody(t, r, `\{"error":"`+regexp.QuoteMeta(code)+`","error_description":"[^"]+"\}`)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content-type = %q", ct)
	}
}

const (
	jwtPattern = `[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`
	b64url     = `[A-Za-z0-9_-]+`
)

// deviceLogin runs the device flow to completion and returns the token response.
func deviceLogin(t *testing.T, s *Server, extra url.Values) tokenResponse {
	t.Helper()
	form := url.Values{"client_id": {"cli"}}
	for k, v := range extra {
		form[k] = v
	}
	r := postForm(t, s.URL()+"oauth/device/code", form)
	wantStatus(t, r, http.StatusOK)
	var dc deviceCodeResponse
	decode(t, r, &dc)
	if err := s.Approve(dc.UserCode); err != nil {
		t.Fatalf("Approve: %v", err)
	}
	r = pollDevice(t, s, dc.DeviceCode)
	wantStatus(t, r, http.StatusOK)
	var tok tokenResponse
	decode(t, r, &tok)
	return tok
}

func pollDevice(t *testing.T, s *Server, deviceCode string) response {
	t.Helper()
	return postForm(t, s.URL()+"oauth/device/token", url.Values{
		"client_id": {"cli"}, "device_code": {deviceCode}, "grant_type": {DeviceCodeGrantType},
	})
}

func refresh(t *testing.T, s *Server, rt string) response {
	t.Helper()
	return postForm(t, s.URL()+"oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {"cli"}, "refresh_token": {rt},
	})
}

func authorise(t *testing.T, s *Server, accessKey string) authoriseResponse {
	t.Helper()
	r := postJSON(t, s.URL()+"api/authorise", mustJSON(t, map[string]string{"accessKey": accessKey}))
	wantStatus(t, r, http.StatusOK)
	var ar authoriseResponse
	decode(t, r, &ar)
	return ar
}
