// This file is the /_emulator/ test control API (documented in doc.go): how a test harness in
// any language drives the emulator over HTTP.

package emulator

import (
	"errors"
	"net/http"
	"time"
)

func (s *Server) ctlListFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"faults": s.listFaults()})
}

func (s *Server) ctlAddFault(w http.ResponseWriter, r *http.Request) {
	var fj faultJSON
	if !readJSON(w, r, &fj) {
		return
	}
	if fj.DelayMs < 0 {
		writeError(w, http.StatusBadRequest, "invalid_request", "delayMs must not be negative")
		return
	}
	if err := s.injectFault(fj.fault()); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	s.ctlListFaults(w, r)
}

func (s *Server) ctlClearFaults(w http.ResponseWriter, r *http.Request) {
	s.ClearFaults()
	s.ctlListFaults(w, r)
}

type decisionRequest struct {
	UserCode    string `json:"userCode"`
	WorkspaceID string `json:"workspaceId"`
	User        string `json:"user"`
}

func (s *Server) ctlApprove(w http.ResponseWriter, r *http.Request) {
	var req decisionRequest
	if !readJSON(w, r, &req) {
		return
	}
	if req.WorkspaceID != "" && !s.workspaceExists(req.WorkspaceID) {
		writeError(w, http.StatusNotFound, "not_found", "unknown workspace")
		return
	}
	s.writeDecision(w, req.UserCode, "approved", s.ApproveFor(req.UserCode, req.WorkspaceID, req.User))
}

func (s *Server) ctlDeny(w http.ResponseWriter, r *http.Request) {
	var req decisionRequest
	if !readJSON(w, r, &req) {
		return
	}
	if req.WorkspaceID != "" || req.User != "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "deny takes only userCode")
		return
	}
	s.writeDecision(w, req.UserCode, "denied", s.Deny(req.UserCode))
}

func (s *Server) writeDecision(w http.ResponseWriter, userCode, status string, err error) {
	switch {
	case errors.Is(err, ErrUnknownUserCode):
		writeError(w, http.StatusNotFound, "not_found", "unknown or expired user code")
	case errors.Is(err, ErrAlreadyDecided):
		writeError(w, http.StatusConflict, "conflict", "device code was already approved, denied or used")
	case err != nil:
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
	default:
		writeJSON(w, http.StatusOK, map[string]string{"userCode": normaliseUserCode(userCode), "status": status})
	}
}

func (s *Server) ctlRequests(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"requests": s.Requests()})
}

func (s *Server) ctlClearRequests(w http.ResponseWriter, r *http.Request) {
	s.ClearRequests()
	writeJSON(w, http.StatusOK, map[string]any{"requests": []Request{}})
}

// configJSON is the /_emulator/config shape; on input every field is optional.
type configJSON struct {
	TokenTTLSecs      *int64 `json:"tokenTtlSecs"`
	DeviceCodeTTLSecs *int64 `json:"deviceCodeTtlSecs"`
	PollIntervalSecs  *int64 `json:"pollIntervalSecs"`
	AutoApprove       *bool  `json:"autoApprove"`
}

func (s *Server) ctlGetConfig(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	tok, dev, poll, auto := ceilSeconds(s.tokenTTL), ceilSeconds(s.deviceCodeTTL), ceilSeconds(s.pollInterval), s.autoApprove
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, configJSON{&tok, &dev, &poll, &auto})
}

func (s *Server) ctlSetConfig(w http.ResponseWriter, r *http.Request) {
	var c configJSON
	if !readJSON(w, r, &c) {
		return
	}
	const maxSecs = 10 * 365 * 24 * 3600 // keeps time.Duration from overflowing
	for _, v := range []*int64{c.TokenTTLSecs, c.DeviceCodeTTLSecs} {
		if v != nil && (*v <= 0 || *v > maxSecs) {
			writeError(w, http.StatusBadRequest, "invalid_request", "lifetimes must be positive seconds")
			return
		}
	}
	if v := c.PollIntervalSecs; v != nil && (*v < 0 || *v > maxSecs) {
		writeError(w, http.StatusBadRequest, "invalid_request", "pollIntervalSecs must not be negative")
		return
	}
	if c.TokenTTLSecs != nil {
		s.SetTokenTTL(time.Duration(*c.TokenTTLSecs) * time.Second)
	}
	if c.DeviceCodeTTLSecs != nil {
		s.SetDeviceCodeTTL(time.Duration(*c.DeviceCodeTTLSecs) * time.Second)
	}
	if c.PollIntervalSecs != nil {
		s.SetPollInterval(time.Duration(*c.PollIntervalSecs) * time.Second)
	}
	if c.AutoApprove != nil {
		s.SetAutoApprove(*c.AutoApprove)
	}
	s.ctlGetConfig(w, r)
}

func (s *Server) ctlState(w http.ResponseWriter, r *http.Request) {
	base := s.advertisedURL(r)
	s.mu.Lock()
	ids := make([]string, 0, len(s.workspaces))
	ids = append(ids, s.defaultWorkspace)
	for id := range s.workspaces {
		if id != s.defaultWorkspace {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		URL          string   `json:"url"`
		ZeroKMSURL   string   `json:"zerokmsUrl"`
		Region       string   `json:"region"`
		WorkspaceID  string   `json:"workspaceId"`
		WorkspaceCRN string   `json:"workspaceCrn"`
		Workspaces   []string `json:"workspaces"` // the default first
	}{base, base + "zerokms/", s.region, s.defaultWorkspace, s.WorkspaceCRN(), ids})
}

// readWorkspaceJSON is readJSON for a control request that names a workspace (*id, a field of
// dst): none names the default one.
func (s *Server) readWorkspaceJSON(w http.ResponseWriter, r *http.Request, dst any, id *string) bool {
	if !readJSON(w, r, dst) {
		return false
	}
	if *id == "" {
		*id = s.defaultWorkspace
	}
	return true
}

func (s *Server) ctlUsageLimit(w http.ResponseWriter, r *http.Request) {
	var req struct {
		WorkspaceID string `json:"workspaceId"`
		Code        string `json:"code"`
	}
	if !s.readWorkspaceJSON(w, r, &req, &req.WorkspaceID) {
		return
	}
	if err := s.SetUsageLimit(req.WorkspaceID, req.Code); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"workspaceId": req.WorkspaceID, "code": req.Code})
}

func (s *Server) ctlNewWorkspace(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if !readJSON(w, r, &req) {
		return
	}
	id := s.NewWorkspace()
	key, err := s.NewAccessKey(id)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "could not create access key")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"workspaceId": id, "workspaceCrn": s.crn(id), "accessKey": key})
}

func (s *Server) ctlNewAccessKey(w http.ResponseWriter, r *http.Request) {
	var req struct {
		WorkspaceID string `json:"workspaceId"`
	}
	if !s.readWorkspaceJSON(w, r, &req, &req.WorkspaceID) {
		return
	}
	key, err := s.NewAccessKey(req.WorkspaceID)
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", "unknown workspace")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"accessKey": key})
}

func (s *Server) ctlMintToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		WorkspaceID string `json:"workspaceId"`
		Subject     string `json:"subject"`
		TTLSecs     int64  `json:"ttlSecs"`
	}
	if !s.readWorkspaceJSON(w, r, &req, &req.WorkspaceID) {
		return
	}
	if req.Subject == "" {
		req.Subject = "CS|emulator|developer"
	}
	if !s.workspaceExists(req.WorkspaceID) {
		writeError(w, http.StatusNotFound, "not_found", "unknown workspace")
		return
	}
	if req.TTLSecs < 0 || req.TTLSecs > 10*365*24*3600 {
		writeError(w, http.StatusBadRequest, "invalid_request", "ttlSecs out of range")
		return
	}
	tok, err := s.mint(s.advertisedURL(r), req.WorkspaceID, req.Subject, "", time.Duration(req.TTLSecs)*time.Second)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "could not sign token")
		return
	}
	writeJSON(w, http.StatusOK, authoriseResponse{AccessToken: tok.jwt, Expiry: tok.exp})
}
