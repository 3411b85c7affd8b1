// This file implements fault injection: delays, error statuses and connection resets on
// chosen paths, so client tests can exercise their failure handling against real HTTP.

package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Fault makes the next Count requests to Path (0 = every request until ClearFaults) misbehave:
// wait Delay first (given up if the client disconnects or the server closes), then either
// reset the connection (Reset), or answer Status with Body, or, with Status 0, serve normally.
// DelayAfter (Status 0 only) serves the request for real at once and holds the answer back:
// what a client sees when the server acted on its request but the answer was slow to come.
type Fault struct {
	Path        string        // e.g. "/api/authorise", "/zerokms/create-client"
	Status      int           // 0 = no canned response (a pure delay)
	Body        string        // sent verbatim; "" = an OAuth-style body for Status
	ContentType string        // default: application/json if Body is JSON, else text/plain
	NoBody      bool          // send Status with an empty body
	Delay       time.Duration // wait before acting
	Count       int           // how many requests it applies to; 0 = until cleared
	Reset       bool          // close the TCP connection with an RST, no response
	DelayAfter  time.Duration // with Status 0: serve at once, then wait before answering
}

// faultJSON is the /_emulator/faults wire shape of a Fault.
type faultJSON struct {
	Path         string `json:"path"`
	Status       int    `json:"status,omitempty"`
	Body         string `json:"body,omitempty"`
	ContentType  string `json:"contentType,omitempty"`
	NoBody       bool   `json:"noBody,omitempty"`
	DelayMs      int64  `json:"delayMs,omitempty"`
	Count        int    `json:"count,omitempty"`
	Reset        bool   `json:"reset,omitempty"`
	DelayAfterMs int64  `json:"delayAfterMs,omitempty"`
	Remaining    int    `json:"remaining,omitempty"` // output only: uses left when Count > 0
}

type faultState struct {
	Fault
	remaining int
}

func (f Fault) validate() error {
	switch {
	case !strings.HasPrefix(f.Path, "/") || strings.HasPrefix(f.Path, "/_emulator/"):
		return errors.New("path must start with / and not be a control path")
	case f.Status != 0 && (f.Status < 200 || f.Status > 599):
		return errors.New("status must be 0 or 200-599")
	case f.Delay < 0 || f.Count < 0 || f.DelayAfter < 0:
		return errors.New("delayMs, delayAfterMs and count must not be negative")
	case f.DelayAfter > 0 && (f.Status != 0 || f.Reset):
		return errors.New("delayAfterMs needs status 0 and no reset (the real answer is held back)")
	}
	return nil
}

// InjectFault adds a fault. Faults on the same path apply in the order they were added.
// An invalid fault (bad path or status) is ignored; the control API reports why.
func (s *Server) InjectFault(f Fault) {
	_ = s.injectFault(f)
}

func (s *Server) injectFault(f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	s.faults = append(s.faults, &faultState{Fault: f, remaining: f.Count})
	s.mu.Unlock()
	return nil
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// takeFault claims one use of the first fault on path.
func (s *Server) takeFault(path string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Path != path {
			continue
		}
		if f.Count > 0 {
			f.remaining--
			if f.remaining == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return f.Fault, true
	}
	return Fault{}, false
}

// applyFault runs a fault for r, if any, and reports whether the request is finished.
// raw is the server's own ResponseWriter (needed to hijack); sw records the status.
func (s *Server) applyFault(raw http.ResponseWriter, sw *statusWriter, r *http.Request, record func()) bool {
	f, ok := s.takeFault(r.URL.Path)
	if !ok {
		return false
	}
	if f.Delay > 0 {
		// net/http only notices a client hanging up once the body has been read to EOF, so
		// read it now (keeping it for the handler if the fault falls through).
		buf, _ := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true // the client went away: nobody to answer
		case <-s.done:
			return true
		}
	}
	switch {
	case f.Reset:
		record()
		resetConnection(raw)
		return true
	case f.Status == 0 && f.DelayAfter > 0:
		s.serveHeldBack(sw, r, f.DelayAfter)
		return true
	case f.Status == 0:
		return false
	}
	body, ctype := f.Body, f.ContentType
	if body == "" && !f.NoBody {
		b, _ := json.Marshal(defaultFaultBody(f.Status))
		body, ctype = string(b)+"\n", "application/json"
	}
	if ctype == "" {
		ctype = "text/plain; charset=utf-8"
		if json.Valid([]byte(body)) {
			ctype = "application/json"
		}
	}
	if !f.NoBody {
		sw.Header().Set("Content-Type", ctype)
	}
	sw.WriteHeader(f.Status)
	_, _ = sw.Write([]byte(body))
	return true
}

// serveHeldBack runs the real handler into a buffer (so the request takes effect, and is
// logged with its status, even if the client leaves), then waits before sending the answer.
func (s *Server) serveHeldBack(sw *statusWriter, r *http.Request, d time.Duration) {
	held := &heldWriter{header: http.Header{}}
	s.router.ServeHTTP(held, r)
	if held.status == 0 {
		held.status = http.StatusOK
	}
	sw.status = held.status
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		return
	case <-s.done:
		return
	}
	for k, v := range held.header {
		sw.Header()[k] = v
	}
	sw.ResponseWriter.WriteHeader(held.status)
	_, _ = sw.ResponseWriter.Write(held.body.Bytes())
}

// heldWriter buffers a handler's answer.
type heldWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *heldWriter) Header() http.Header { return w.header }
func (w *heldWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}
func (w *heldWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

// resetConnection closes the client's TCP connection with an RST (SO_LINGER 0) instead of a
// FIN, which is what a crashed or firewalled server looks like to the client.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // not hijackable (HTTP/2): aborting is the nearest thing
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

func defaultFaultBody(status int) oauthError {
	switch {
	case status == http.StatusPaymentRequired:
		return oauthError{Error: "access_denied", Description: usageLimitDescription, CSCode: CodeUsageLimitExceeded}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return oauthError{Error: "access_denied", Description: "injected fault"}
	case status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests:
		return oauthError{Error: "temporarily_unavailable", Description: "injected fault"}
	case status >= 500:
		return oauthError{Error: "server_error", Description: "injected fault"}
	case status >= 400:
		return oauthError{Error: "invalid_request", Description: "injected fault"}
	}
	return oauthError{Error: "injected_fault", Description: "injected fault"}
}

func (s *Server) listFaults() []faultJSON {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]faultJSON, 0, len(s.faults))
	for _, f := range s.faults {
		fj := toFaultJSON(f.Fault)
		if f.Count > 0 {
			fj.Remaining = f.remaining
		}
		out = append(out, fj)
	}
	return out
}

func toFaultJSON(f Fault) faultJSON {
	return faultJSON{
		Path: f.Path, Status: f.Status, Body: f.Body, ContentType: f.ContentType, NoBody: f.NoBody,
		DelayMs: f.Delay.Milliseconds(), Count: f.Count, Reset: f.Reset, DelayAfterMs: f.DelayAfter.Milliseconds(),
	}
}

func (fj faultJSON) fault() Fault {
	return Fault{
		Path: fj.Path, Status: fj.Status, Body: fj.Body, ContentType: fj.ContentType, NoBody: fj.NoBody,
		Delay: time.Duration(fj.DelayMs) * time.Millisecond, Count: fj.Count, Reset: fj.Reset,
		DelayAfter: time.Duration(fj.DelayAfterMs) * time.Millisecond,
	}
}
