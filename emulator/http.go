// This file is the HTTP plumbing shared by every endpoint: routing, the request log, fault
// injection, body limits and the strict JSON/form readers that turn bad input into 4xx.

package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

type route map[string]http.HandlerFunc // method -> handler

func (s *Server) routes() http.Handler {
	post := func(h http.HandlerFunc) route { return route{http.MethodPost: h} }
	table := map[string]route{
		"/api/authorise":         post(s.handleAuthorise),
		"/oauth/device/code":     post(s.handleDeviceCode),
		"/oauth/device/token":    post(s.handleDeviceToken),
		"/oauth/token":           post(s.handleRefresh),
		"/zerokms/create-client": post(s.handleCreateClient),
		"/.well-known/jwks.json": {http.MethodGet: s.handleJWKS},
		"/device":                {http.MethodGet: s.handleDevicePage, http.MethodPost: s.handleDeviceForm},
		"/_emulator/faults":      {http.MethodGet: s.ctlListFaults, http.MethodPost: s.ctlAddFault, http.MethodDelete: s.ctlClearFaults},
		"/_emulator/approve":     post(s.ctlApprove),
		"/_emulator/deny":        post(s.ctlDeny),
		"/_emulator/requests":    {http.MethodGet: s.ctlRequests, http.MethodDelete: s.ctlClearRequests},
		"/_emulator/config":      {http.MethodGet: s.ctlGetConfig, http.MethodPost: s.ctlSetConfig},
		"/_emulator/state":       {http.MethodGet: s.ctlState},
		"/_emulator/usage-limit": post(s.ctlUsageLimit),
		"/_emulator/workspaces":  post(s.ctlNewWorkspace),
		"/_emulator/access-keys": post(s.ctlNewAccessKey),
		"/_emulator/tokens":      post(s.ctlMintToken),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, ok := table[r.URL.Path]
		if !ok {
			writeError(w, http.StatusNotFound, "not_found", "no such endpoint")
			return
		}
		h, ok := rt[r.Method]
		if !ok && r.Method == http.MethodHead {
			h, ok = rt[http.MethodGet]
		}
		if !ok {
			allowed := make([]string, 0, len(rt))
			for m := range rt {
				allowed = append(allowed, m)
			}
			slices.Sort(allowed)
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeError(w, http.StatusMethodNotAllowed, "invalid_request", "method not allowed")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h(w, r)
	})
}

// ServeHTTP wraps the routes with the request log, fault injection and panic recovery.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	info := &requestInfo{}
	r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
	sw := &statusWriter{ResponseWriter: w}
	control := strings.HasPrefix(r.URL.Path, "/_emulator/")
	// A reset fault records the request before closing the connection: a client that sees
	// the reset and reads the log at once must find it there.
	record := sync.OnceFunc(func() { s.record(r, info, sw.status, control, time.Since(start)) })
	defer func() {
		p := recover()
		if p != nil && p != http.ErrAbortHandler {
			s.log.Error("handler panicked", "path", r.URL.Path)
			if sw.status == 0 {
				writeError(sw, http.StatusInternalServerError, "server_error", "internal error")
			}
		}
		record()
		if p == http.ErrAbortHandler {
			panic(p) // let net/http drop the connection
		}
	}()
	if !control && s.applyFault(w, sw, r, record) {
		return
	}
	s.router.ServeHTTP(sw, r)
}

// requestInfo carries what a handler learned about the body (its key names) to the log.
type requestInfo struct{ keys []string }
type requestInfoKey struct{}

func infoOf(r *http.Request) *requestInfo {
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		return info
	}
	return &requestInfo{}
}

// statusWriter remembers the status; 0 means nothing was written (connection reset/aborted).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Request is one entry of the request log. It holds key names, never values.
type Request struct {
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Keys   []string  `json:"keys"` // sorted names of the form or top-level JSON body keys
	Status int       `json:"status"`
	Time   time.Time `json:"time"`
}

func (s *Server) record(r *http.Request, info *requestInfo, status int, control bool, d time.Duration) {
	// Only the path is logged: the query string of /device carries a user code.
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", status, "duration", d.Round(time.Microsecond)}
	if control {
		s.log.Debug("control request", attrs...)
		return
	}
	s.log.Info("request", attrs...)
	keys := info.keys
	if keys == nil {
		keys = []string{}
	}
	entry := Request{Method: r.Method, Path: r.URL.Path, Keys: keys, Status: status, Time: s.now()}
	s.mu.Lock()
	if len(s.requests) >= maxLoggedRequests {
		s.requests = slices.Delete(s.requests, 0, len(s.requests)-maxLoggedRequests+1)
	}
	s.requests = append(s.requests, entry)
	hook := s.recordHook
	s.mu.Unlock()
	if hook != nil {
		hook(entry)
	}
}

// Requests returns a copy of the request log (control requests excluded).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Keys = slices.Clone(r.Keys)
		out[i] = r
	}
	return out
}

// RequestCount is the number of logged requests to path (e.g. "/oauth/token").
func (s *Server) RequestCount(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Path == path {
			n++
		}
	}
	return n
}

// ClearRequests empties the request log.
func (s *Server) ClearRequests() {
	s.mu.Lock()
	s.requests = nil
	s.mu.Unlock()
}

// --- responses ---

// oauthError is the OAuth 2.0 error body (RFC 6749 §5.2); CSCode is the CTS usage-limit code.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	CSCode      string `json:"cs_code,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, oauthError{Error: code, Description: description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // URLs with '&' stay readable
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"server_error","error_description":"encoding failed"}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store") // RFC 6749 §5.1: token responses must not be cached
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// --- request bodies ---

// readBody reads the (size-capped) body, answering 413 or 400 itself on failure.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "invalid_request", "request body exceeds 1 MiB")
		} else {
			writeError(w, http.StatusBadRequest, "invalid_request", "request body could not be read")
		}
		return nil, false
	}
	return buf.Bytes(), true
}

func hasMediaType(r *http.Request, want string) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == want
}

// readJSON decodes a JSON object body into dst, strictly: unknown keys, trailing data and
// wrong types are 400. Error texts are fixed so that no part of a value is echoed.
func readJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	if !hasMediaType(r, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "invalid_request", "content-type must be application/json")
		return false
	}
	body, ok := readBody(w, r)
	if !ok {
		return false
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "request body must be a JSON object")
		return false
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	infoOf(r).keys = keys
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		msg := "request body has a field of the wrong type"
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			msg = "request body has an unknown field"
		}
		writeError(w, http.StatusBadRequest, "invalid_request", msg)
		return false
	}
	return true
}

// readForm parses an application/x-www-form-urlencoded body. Unknown parameters are ignored
// (RFC 6749 §3.2) but a repeated one is an error (RFC 6749 §3.1).
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if !hasMediaType(r, "application/x-www-form-urlencoded") {
		writeError(w, http.StatusUnsupportedMediaType, "invalid_request", "content-type must be application/x-www-form-urlencoded")
		return nil, false
	}
	body, ok := readBody(w, r)
	if !ok {
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return nil, false
	}
	keys := make([]string, 0, len(form))
	for k, v := range form {
		keys = append(keys, k)
		if len(v) > 1 {
			writeError(w, http.StatusBadRequest, "invalid_request", "a parameter is repeated")
			return nil, false
		}
	}
	slices.Sort(keys)
	infoOf(r).keys = keys
	return form, true
}

// readClientForm reads an OAuth request's form from the CLI client, with grant type
// grantType and field required when they are not ""; otherwise it answers the OAuth error
// itself and returns false.
func readClientForm(w http.ResponseWriter, r *http.Request, grantType, required string) (url.Values, bool) {
	form, ok := readForm(w, r)
	if !ok {
		return nil, false
	}
	switch {
	case clientID(r, form) != CLIClientID:
		writeError(w, http.StatusBadRequest, "invalid_client", "unknown client")
	case grantType != "" && form.Get("grant_type") != grantType:
		writeError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be "+grantType)
	case required != "" && form.Get(required) == "":
		writeError(w, http.StatusBadRequest, "invalid_request", required+" is required")
	default:
		return form, true
	}
	return nil, false
}

// clientID is the form's client_id, or the HTTP Basic user name a confidential-client style
// library (golang.org/x/oauth2's auto-detection) sends instead (RFC 6749 §2.3.1).
func clientID(r *http.Request, form url.Values) string {
	if id := form.Get("client_id"); id != "" {
		return id
	}
	if user, _, ok := r.BasicAuth(); ok {
		if id, err := url.QueryUnescape(user); err == nil {
			return id
		}
	}
	return ""
}

// baseURL is the advertised base URL: the configured one, else derived from the request.
func (s *Server) advertisedURL(r *http.Request) string {
	if u := s.URL(); u != "" {
		return u
	}
	return "http://" + r.Host + "/"
}
