package stackauth

// Shared test fixtures: JWTs, a fake CTS over real HTTP on loopback, a fixed environment.

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testWS        = "ZVATKW3VHMFG27DY"
	otherWS       = "AAAAAAAAAAAAAAAA"
	testRegion    = "ap-southeast-2.aws"
	testCRN       = "crn:ap-southeast-2.aws:ZVATKW3VHMFG27DY"
	testAccessKey = "CSAKkeyid01.secret-value-here"
)

// makeJWT builds an unsigned-but-well-formed JWT (signatures are never verified here).
func makeJWT(t testing.TB, claims map[string]any) string {
	t.Helper()
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	body, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return header + "." + base64.RawURLEncoding.EncodeToString(body) + ".c2lnbmF0dXJl"
}

// ctsClaims is upstream's fixture claim set for workspace ws expiring at exp.
func ctsClaims(ws string, exp int64) map[string]any {
	return map[string]any{
		"iss": "https://cts.example.com/", "sub": "CS|test-user", "aud": "test-audience",
		"iat": exp - 3600, "exp": exp, "workspace": ws, "org_id": "org-1", "scope": "",
		"services": map[string]any{"zerokms": "https://zerokms.example.com/"},
	}
}

// fakeCTS is an httptest server whose handlers a test sets per path; it counts requests
// and keeps request bodies so tests can assert exact numbers and shapes.
type fakeCTS struct {
	*httptest.Server
	mu       sync.Mutex
	handlers map[string]http.HandlerFunc
	hits     map[string]int
	bodies   map[string][]string
	headers  map[string][]http.Header
	inFlight int
	peak     int
}

func newFakeCTS(t testing.TB) *fakeCTS {
	f := &fakeCTS{handlers: map[string]http.HandlerFunc{}, hits: map[string]int{},
		bodies: map[string][]string{}, headers: map[string][]http.Header{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.hits[r.URL.Path]++
		f.bodies[r.URL.Path] = append(f.bodies[r.URL.Path], string(body))
		f.headers[r.URL.Path] = append(f.headers[r.URL.Path], r.Header.Clone())
		h := f.handlers[r.URL.Path]
		f.inFlight++
		f.peak = max(f.peak, f.inFlight)
		f.mu.Unlock()
		defer func() { f.mu.Lock(); f.inFlight--; f.mu.Unlock() }()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeCTS) handle(path string, h http.HandlerFunc) {
	f.mu.Lock()
	f.handlers[path] = h
	f.mu.Unlock()
}

func (f *fakeCTS) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

func (f *fakeCTS) peakConcurrency() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.peak
}

func (f *fakeCTS) body(path string, i int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[path][i]
}

func (f *fakeCTS) header(path string, i int) http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.headers[path][i]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

var jtiCounter atomic.Int64

// authoriseOK answers /api/authorise with a token for ws that expires ttl from clock's now.
func authoriseOK(t testing.TB, clock Clock, ws string, ttl time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		exp := clock.Now().Add(ttl).Unix()
		claims := ctsClaims(ws, exp)
		claims["jti"] = jtiCounter.Add(1) // every minted token differs
		writeJSON(w, 200, map[string]any{"accessToken": makeJWT(t, claims), "expiry": exp})
	}
}

// refreshOK answers /oauth/token with a new access token and refresh token newRT.
func refreshOK(t testing.TB, clock Clock, newRT string, ttl time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		exp := clock.Now().Add(ttl).Unix()
		claims := ctsClaims(testWS, exp)
		claims["jti"] = jtiCounter.Add(1)
		resp := map[string]any{"access_token": makeJWT(t, claims), "token_type": "Bearer",
			"expires_in": int64(ttl / time.Second)}
		if newRT != "" {
			resp["refresh_token"] = newRT
		}
		writeJSON(w, 200, resp)
	}
}

// emptyEnv makes a test independent of the developer's CS_* variables.
func emptyEnv() Option { return envOf(nil) }

// envOf gives a strategy exactly these environment variables.
func envOf(vars map[string]string) Option {
	return WithLookupEnv(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
}

// testClock starts at a fixed, realistic time.
func testClock() *ManualClock { return NewManualClock(time.Unix(1_700_000_000, 0)) }
