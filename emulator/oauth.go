// This file implements the OAuth side of the CTS: the RFC 8628 device flow (docs/protocol.md 2.5, 2.6)
// and refresh-token rotation with whole-chain revocation on replay (docs/protocol.md 2.7).

package emulator

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

type deviceState int

const (
	statePending deviceState = iota
	stateApproved
	stateDenied
	stateSpent // a token was issued; the code is dead
)

func (st deviceState) String() string {
	return [...]string{"pending", "approved", "denied", "spent"}[st]
}

// deviceCode is one device authorization. It is found by the hash of its device_code (a
// secret) or by its user code (shown to the person).
type deviceCode struct {
	userCode         string
	deviceInstanceID string
	deviceName       string
	expiresAt        time.Time
	interval         time.Duration // grows by 5 s on every slow_down (RFC 8628 §3.5)
	lastPoll         time.Time     // zero until the first poll
	state            deviceState
	workspace        string // set on approval
	user             string
}

// session is the chain of refresh tokens that descends from one device login.
type session struct {
	workspace        string
	subject          string
	deviceInstanceID string
	revoked          bool // a spent refresh token was replayed: the whole chain is dead
}

type refreshRecord struct {
	session *session
	spent   bool
}

// Errors of Approve and Deny.
var (
	ErrUnknownUserCode = errors.New("emulator: unknown or expired user code")
	ErrAlreadyDecided  = errors.New("emulator: device code was already approved, denied or used")
)

// userCodeAlphabet has no vowels (so no words) and no look-alike digits (RFC 8628 §6.1).
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

func newUserCode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)]
	}
	return string(b[:4]) + "-" + string(b[4:])
}

// normaliseUserCode lets a person type "abcd efgh" or "ABCDEFGH" for "ABCD-EFGH".
func normaliseUserCode(s string) string {
	s = strings.ToUpper(s)
	s = strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	if len(s) != 8 {
		return s
	}
	return s[:4] + "-" + s[4:]
}

type deviceCodeResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

func (s *Server) handleDeviceCode(w http.ResponseWriter, r *http.Request) {
	form, ok := readClientForm(w, r, "", "")
	if !ok {
		return
	}
	secret := randomToken(32)
	now := s.now()

	s.mu.Lock()
	s.pruneDeviceCodesLocked(now)
	dc := &deviceCode{
		deviceInstanceID: form.Get("device_instance_id"),
		deviceName:       form.Get("device_name"),
		expiresAt:        now.Add(s.deviceCodeTTL),
		interval:         s.pollInterval,
	}
	for {
		dc.userCode = newUserCode()
		if _, taken := s.userCodes[dc.userCode]; !taken {
			break
		}
	}
	if s.autoApprove {
		dc.state, dc.workspace, dc.user = stateApproved, s.defaultWorkspace, "developer"
	}
	s.deviceCodes[hashSecret(secret)] = dc
	s.userCodes[dc.userCode] = dc
	ttl, interval := s.deviceCodeTTL, s.pollInterval
	s.mu.Unlock()

	base := s.advertisedURL(r)
	s.log.Info("device code issued", "expires_in", int64(ttl/time.Second), "auto_approved", dc.state == stateApproved)
	writeJSON(w, http.StatusOK, deviceCodeResponse{
		DeviceCode:              secret,
		UserCode:                dc.userCode,
		VerificationURI:         base + "device",
		VerificationURIComplete: base + "device?user_code=" + url.QueryEscape(dc.userCode),
		ExpiresIn:               ceilSeconds(ttl),
		// Clients take whole seconds (x/oauth2 treats 0 as "use 5"), so round up, minimum 1.
		Interval: max(1, ceilSeconds(interval)),
	})
}

func ceilSeconds(d time.Duration) int64 { return int64((d + time.Second - 1) / time.Second) }

// pruneDeviceCodesLocked forgets codes long past their expiry so a long-running emulator
// does not grow without bound. Recently expired codes stay so polls still see expired_token.
func (s *Server) pruneDeviceCodesLocked(now time.Time) {
	for h, dc := range s.deviceCodes {
		if now.Sub(dc.expiresAt) > time.Hour {
			delete(s.deviceCodes, h)
			delete(s.userCodes, dc.userCode)
		}
	}
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

func (s *Server) handleDeviceToken(w http.ResponseWriter, r *http.Request) {
	form, ok := readClientForm(w, r, DeviceCodeGrantType, "device_code")
	if !ok {
		return
	}
	now := s.now()

	s.mu.Lock()
	dc := s.deviceCodes[hashSecret(form.Get("device_code"))]
	code, desc := s.pollLocked(dc, now)
	var sess *session
	var refresh string
	var ws, refusal string
	if code == "" {
		ws = dc.workspace
		refusal = s.usageLimitLocked(ws)
	}
	if code == "" && refusal == "" {
		dc.state = stateSpent
		sess = &session{workspace: dc.workspace, subject: "CS|emulator|" + dc.user, deviceInstanceID: dc.deviceInstanceID}
		refresh = randomToken(32)
		s.refreshTokens[hashSecret(refresh)] = &refreshRecord{session: sess}
	}
	s.mu.Unlock()

	if code != "" {
		writeError(w, http.StatusBadRequest, code, desc)
		return
	}
	if s.writeUsageRefusal(w, ws, refusal) {
		return // the code stays approved: clearing the limit lets the next poll succeed
	}
	s.log.Info("token issued", "flow", "device_code", "workspace", sess.workspace)
	s.writeTokenResponse(w, r, sess, refresh)
}

// pollLocked applies RFC 8628 §3.5 to one poll: it returns the error code to answer, or ""
// when the code is approved and a token may be issued.
func (s *Server) pollLocked(dc *deviceCode, now time.Time) (code, desc string) {
	if dc == nil {
		return "invalid_grant", "unknown device code"
	}
	if dc.state == stateSpent {
		return "invalid_grant", "device code already used"
	}
	if !now.Before(dc.expiresAt) {
		return "expired_token", "device code expired"
	}
	// A tenth of the interval is forgiven: ticker-driven clients (x/oauth2) jitter a little.
	tooSoon := !dc.lastPoll.IsZero() && now.Sub(dc.lastPoll) < dc.interval-dc.interval/10
	dc.lastPoll = now
	if tooSoon {
		dc.interval += 5 * time.Second
		return "slow_down", "polling too fast; wait longer between requests"
	}
	switch dc.state {
	case statePending:
		return "authorization_pending", "waiting for the user to approve"
	case stateDenied:
		return "access_denied", "the user denied the request"
	}
	return "", ""
}

func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	form, ok := readClientForm(w, r, "refresh_token", "refresh_token")
	if !ok {
		return
	}

	s.mu.Lock()
	rec := s.refreshTokens[hashSecret(form.Get("refresh_token"))]
	var code, desc string
	switch {
	case rec == nil:
		code, desc = "invalid_grant", "unknown refresh token"
	case rec.session.revoked:
		code, desc = "invalid_grant", "refresh token revoked"
	case rec.spent:
		// Reuse means the token leaked or two processes raced: kill every descendant too.
		rec.session.revoked = true
		code, desc = "invalid_grant", "refresh token reused; session revoked"
		s.log.Warn("spent refresh token replayed; session revoked", "workspace", rec.session.workspace)
	case form.Get("device_instance_id") != "" && rec.session.deviceInstanceID != "" &&
		form.Get("device_instance_id") != rec.session.deviceInstanceID:
		code, desc = "invalid_grant", "refresh token belongs to another device"
	}
	if code != "" {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, code, desc)
		return
	}
	if refusal := s.usageLimitLocked(rec.session.workspace); refusal != "" {
		s.mu.Unlock()
		s.writeUsageRefusal(w, rec.session.workspace, refusal) // the token is not spent
		return
	}
	rec.spent = true
	refresh := randomToken(32)
	s.refreshTokens[hashSecret(refresh)] = &refreshRecord{session: rec.session}
	sess := rec.session
	s.mu.Unlock()

	s.log.Info("token issued", "flow", "refresh", "workspace", sess.workspace)
	s.writeTokenResponse(w, r, sess, refresh)
}

func (s *Server) writeTokenResponse(w http.ResponseWriter, r *http.Request, sess *session, refresh string) {
	tok, err := s.mint(s.advertisedURL(r), sess.workspace, sess.subject, "", 0)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "could not sign token")
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: tok.jwt, TokenType: "Bearer", ExpiresIn: tok.expiresIn(), RefreshToken: refresh,
	})
}

// Approve approves a pending device code for the default workspace, as the page's Approve
// button does. Approving an already approved code is not an error.
func (s *Server) Approve(userCode string) error {
	return s.ApproveFor(userCode, "", "")
}

// ApproveFor approves a device code for a workspace ("" = default) as a user ("" =
// "developer"); the token's sub is "CS|emulator|<user>".
func (s *Server) ApproveFor(userCode, workspaceID, user string) error {
	if workspaceID == "" {
		workspaceID = s.defaultWorkspace
	}
	if user == "" {
		user = "developer"
	}
	if !s.workspaceExists(workspaceID) {
		return errors.New("emulator: unknown workspace")
	}
	return s.decide(userCode, stateApproved, workspaceID, user)
}

// Deny denies a pending device code; the next poll answers access_denied.
func (s *Server) Deny(userCode string) error {
	return s.decide(userCode, stateDenied, "", "")
}

func (s *Server) decide(userCode string, to deviceState, ws, user string) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	dc := s.userCodes[normaliseUserCode(userCode)]
	switch {
	case dc == nil || !now.Before(dc.expiresAt):
		return ErrUnknownUserCode
	case dc.state == to:
		return nil
	case dc.state != statePending:
		return ErrAlreadyDecided
	}
	dc.state, dc.workspace, dc.user = to, ws, user
	s.log.Info("device code decided", "decision", to.String())
	return nil
}
