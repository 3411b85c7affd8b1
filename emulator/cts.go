// This file implements the CTS token exchange, POST /api/authorise (docs/protocol.md 2.3, 2.4), and the
// 402 usage-limit refusal shared by every issuing endpoint (docs/protocol.md 2.9).

package emulator

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"unicode"

	"github.com/stackauth/stack-auth/core/profile"
)

// The cs_code values of a 402 refusal and their default descriptions (docs/protocol.md 2.9).
const (
	CodeUsageLimitExceeded = "USAGE_LIMIT_EXCEEDED"
	CodeOrgNotProvisioned  = "ORG_NOT_PROVISIONED"

	usageLimitDescription     = "Workspace has exceeded its usage limit and cannot issue an access token"
	orgNotProvisionedDescribe = "Organisation is not provisioned in the usage system and cannot issue an access token"
)

type authoriseRequest struct {
	AccessKey   string `json:"accessKey"`
	Audience    string `json:"audience"`
	OIDCToken   string `json:"oidcToken"`
	WorkspaceID string `json:"workspaceId"`
}

type authoriseResponse struct {
	AccessToken string `json:"accessToken"`
	Expiry      int64  `json:"expiry"` // absolute Unix seconds: the JWT's exp (CIP-3233)
}

func (s *Server) handleAuthorise(w http.ResponseWriter, r *http.Request) {
	var req authoriseRequest
	if !readJSON(w, r, &req) {
		return
	}
	switch {
	case req.AccessKey != "" && req.OIDCToken == "" && req.WorkspaceID == "":
		s.authoriseAccessKey(w, r, req)
	case req.OIDCToken != "" && req.AccessKey == "" && req.Audience == "":
		s.authoriseOIDC(w, r, req)
	default:
		writeError(w, http.StatusBadRequest, "invalid_request",
			`body must be {"accessKey", "audience"?} or {"oidcToken", "workspaceId"}`)
	}
}

func (s *Server) authoriseAccessKey(w http.ResponseWriter, r *http.Request, req authoriseRequest) {
	keyID, ws, ok := s.checkAccessKey(req.AccessKey)
	if !ok {
		writeError(w, http.StatusUnauthorized, "access_denied", "invalid access key")
		return
	}
	s.issueForWorkspace(w, r, ws, "CS|CSAK"+keyID, req.Audience)
}

// checkAccessKey validates "CSAK<keyid>.<secret>" against the issued keys, in constant time
// for the secret.
func (s *Server) checkAccessKey(key string) (keyID, workspace string, ok bool) {
	rest, found := strings.CutPrefix(key, "CSAK")
	if !found {
		return "", "", false
	}
	keyID, secret, found := strings.Cut(rest, ".")
	if !found || keyID == "" || secret == "" {
		return "", "", false
	}
	s.mu.Lock()
	rec, known := s.accessKeys[keyID]
	s.mu.Unlock()
	got := sha256.Sum256([]byte(secret))
	if !known || subtle.ConstantTimeCompare(got[:], rec.secretHash[:]) != 1 {
		return "", "", false
	}
	return keyID, rec.workspace, true
}

func (s *Server) authoriseOIDC(w http.ResponseWriter, r *http.Request, req authoriseRequest) {
	if !profile.ValidWorkspaceID(req.WorkspaceID) {
		writeError(w, http.StatusBadRequest, "invalid_request", "workspaceId must be 16 characters of A-Z2-7")
		return
	}
	sub, ok := oidcSubject(req.OIDCToken)
	if !ok {
		writeError(w, http.StatusUnauthorized, "access_denied", "oidcToken is not a JWT")
		return
	}
	if !s.workspaceExists(req.WorkspaceID) {
		writeError(w, http.StatusForbidden, "access_denied", "unknown workspace")
		return
	}
	s.issueForWorkspace(w, r, req.WorkspaceID, "CS|"+sub, "")
}

// issueForWorkspace mints an /api/authorise token, or answers 402 when the workspace is
// over its usage limit.
func (s *Server) issueForWorkspace(w http.ResponseWriter, r *http.Request, ws, subject, audience string) {
	if s.refuseUsage(w, ws) {
		return
	}
	tok, err := s.mint(s.advertisedURL(r), ws, subject, audience, 0)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "could not sign token")
		return
	}
	s.log.Info("token issued", "flow", "authorise", "workspace", ws)
	writeJSON(w, http.StatusOK, authoriseResponse{AccessToken: tok.jwt, Expiry: tok.exp})
}

// oidcSubject accepts any JWT-shaped token (three base64url segments) and returns the
// subject to federate as: the provider's sub when the payload decodes, else a placeholder.
// Provider signatures are not checked: the emulator trusts every identity provider.
func oidcSubject(tok string) (string, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", false
	}
	for _, p := range parts {
		if p == "" || strings.TrimLeft(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=") != "" {
			return "", false
		}
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "oidc|unknown", true
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if json.Unmarshal(payload, &claims) != nil || !printableSubject(claims.Sub) {
		return "oidc|unknown", true
	}
	return claims.Sub, true
}

func printableSubject(sub string) bool {
	if sub == "" || len(sub) > 256 {
		return false
	}
	for _, c := range sub {
		if !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}

func (s *Server) workspaceExists(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.workspaces[id]
	return ok
}

// refuseUsage answers 402 when the workspace has a usage-limit code set.
func (s *Server) refuseUsage(w http.ResponseWriter, ws string) bool {
	s.mu.Lock()
	code := s.usageLimitLocked(ws)
	s.mu.Unlock()
	return s.writeUsageRefusal(w, ws, code)
}

func (s *Server) usageLimitLocked(ws string) string {
	if rec := s.workspaces[ws]; rec != nil {
		return rec.usageLimit
	}
	return ""
}

// writeUsageRefusal writes the CTS 402 body for code, if code is set, and reports whether it did.
func (s *Server) writeUsageRefusal(w http.ResponseWriter, ws, code string) bool {
	if code == "" {
		return false
	}
	desc := usageLimitDescription
	if code == CodeOrgNotProvisioned {
		desc = orgNotProvisionedDescribe
	}
	s.log.Info("issuance refused", "workspace", ws, "cs_code", code)
	writeJSON(w, http.StatusPaymentRequired, oauthError{Error: "access_denied", Description: desc, CSCode: code})
	return true
}
