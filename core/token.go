package stackauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
)

// ExpiryLeewaySecs is upstream's refresh window: a token this close to expiry is "expired"
// for Token.IsExpiredAt. The engine narrows it for short-lived tokens (see Engine).
const ExpiryLeewaySecs = 90

// Token is the persisted and cached token (the JSON of auth.json and of every TokenStore).
type Token struct {
	AccessToken      SecretToken `json:"access_token"`
	RefreshToken     SecretToken `json:"refresh_token,omitzero"`
	TokenType        string      `json:"token_type"`
	ExpiresAt        uint64      `json:"expires_at"`
	Region           string      `json:"region,omitempty"`
	ClientID         string      `json:"client_id,omitempty"`
	DeviceInstanceID string      `json:"device_instance_id,omitempty"`
	// FederatedFrom is the hex SHA-256 of the provider JWT an OIDC token was minted from.
	FederatedFrom string `json:"federated_from,omitempty"`
	// StoreScope names the credential a store saved the token for (see StoreScope); a
	// token loaded for another scope, or without one, is a miss. Not upstream's.
	StoreScope string `json:"store_scope,omitempty"`
}

// UnmarshalJSON enforces the required fields, so that "{}" is a decode error rather than
// an empty token. Unknown fields are ignored.
func (t *Token) UnmarshalJSON(data []byte) error {
	type plain Token
	var aux struct {
		plain
		AccessToken *SecretToken `json:"access_token"`
		TokenType   *string      `json:"token_type"`
		ExpiresAt   *uint64      `json:"expires_at"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	switch {
	case aux.AccessToken == nil:
		return errors.New("missing field `access_token`")
	case aux.TokenType == nil:
		return errors.New("missing field `token_type`")
	case aux.ExpiresAt == nil:
		return errors.New("missing field `expires_at`")
	}
	*t = Token(aux.plain)
	t.AccessToken, t.TokenType, t.ExpiresAt = *aux.AccessToken, *aux.TokenType, *aux.ExpiresAt
	return nil
}

// decodeToken parses stored token JSON. Its error never quotes the input.
func decodeToken(data []byte) (*Token, error) {
	var t Token
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, errors.New(jsonErrorSummary(err))
	}
	return &t, nil
}

// jsonErrorSummary describes a JSON error by category and position, never by content.
func jsonErrorSummary(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at offset %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("wrong type for field %q at offset %d", typ.Field, typ.Offset)
	case strings.HasPrefix(err.Error(), "missing field"):
		return err.Error()
	default:
		return "invalid JSON"
	}
}

// Clone returns a copy with its own secret buffers, so zeroing one never wipes the other.
func (t *Token) Clone() *Token {
	c := *t
	c.AccessToken = NewSecretToken(t.AccessToken.Reveal())
	if !t.RefreshToken.IsZero() {
		c.RefreshToken = NewSecretToken(t.RefreshToken.Reveal())
	}
	return &c
}

func unixNow() uint64 { return uint64(time.Now().Unix()) }

// IsExpiredAt reports whether the token is inside the 90 s refresh window at now.
func (t *Token) IsExpiredAt(now uint64) bool {
	return saturatingAdd(now, ExpiryLeewaySecs) >= t.ExpiresAt
}

// IsUsableAt reports whether the token has not yet reached its expiry at now.
func (t *Token) IsUsableAt(now uint64) bool { return now < t.ExpiresAt }

// ExpiresInAt is the number of seconds left at now, saturating at 0.
func (t *Token) ExpiresInAt(now uint64) uint64 {
	if now >= t.ExpiresAt {
		return 0
	}
	return t.ExpiresAt - now
}

func (t *Token) IsExpired() bool   { return t.IsExpiredAt(unixNow()) }
func (t *Token) IsUsable() bool    { return t.IsUsableAt(unixNow()) }
func (t *Token) ExpiresIn() uint64 { return t.ExpiresInAt(unixNow()) }
func (t *Token) String() string {
	return fmt.Sprintf("Token{type: %s, expires_at: %d, access_token: ***}", t.TokenType, t.ExpiresAt)
}
func (t *Token) GoString() string         { return t.String() }
func (t *Token) claims() (*claims, error) { return decodeClaims(t.AccessToken.Reveal()) }

func saturatingAdd(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

// WorkspaceID is the access token's `workspace` claim.
func (t *Token) WorkspaceID() (string, error) {
	c, err := t.claims()
	if err != nil {
		return "", err
	}
	return c.workspaceID()
}

// Issuer is the access token's `iss` claim as a URL.
func (t *Token) Issuer() (*url.URL, error) {
	c, err := t.claims()
	if err != nil {
		return nil, err
	}
	return c.issuer()
}

// WorkspaceCrn combines the token's region and workspace claim.
func (t *Token) WorkspaceCrn() (Crn, error) {
	if t.Region == "" {
		return Crn{}, newError(CodeNotAuthenticated, "")
	}
	region, err := ParseRegion(t.Region)
	if err != nil {
		return Crn{}, NewServerError(err.(*AuthError).Detail)
	}
	ws, err := t.WorkspaceID()
	if err != nil {
		return Crn{}, err
	}
	return Crn{Region: region, WorkspaceID: ws}, nil
}

// claims are the JWT claims the client reads. Signatures are never verified here: the
// server does that; the client only needs discovery data (docs/protocol.md 3.4).
type claims struct {
	Iss       *string           `json:"iss"`
	Sub       *string           `json:"sub"`
	Workspace *string           `json:"workspace"`
	Services  map[string]string `json:"services"`
	// exp and iat are read leniently: a server-only claim of an odd type never breaks decoding.
	Exp json.RawMessage `json:"exp"`
	Iat json.RawMessage `json:"iat"`

	iss *url.URL
}

// decodeClaims splits, base64url-decodes and parses the JWT payload. As upstream, the claims
// decode all or nothing: iss (a URL), sub and workspace (a workspace id; a legacy "ws:" prefix
// is dropped) are required, so a token missing one is INVALID_TOKEN for every accessor. It
// never panics.
func decodeClaims(jwt string) (*claims, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, NewInvalidTokenError("JWT must have three segments")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, NewInvalidTokenError("base64 decode failed: " + err.Error())
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, NewInvalidTokenError("failed to decode JWT claims: " + jsonErrorSummary(err))
	}
	switch {
	case c.Iss == nil:
		return nil, NewInvalidTokenError("JWT has no iss claim")
	case c.Sub == nil:
		return nil, NewInvalidTokenError("JWT has no sub claim")
	case c.Workspace == nil:
		return nil, NewInvalidTokenError("JWT has no workspace claim")
	}
	ws := strings.TrimPrefix(*c.Workspace, legacyWorkspacePrefix)
	if !ValidWorkspaceID(ws) {
		// The claim is not quoted: it is server data of unknown content.
		return nil, NewInvalidTokenError("workspace claim is not a valid workspace ID")
	}
	c.Workspace = &ws
	u, err := parseAbsoluteURL(*c.Iss)
	if err != nil {
		return nil, NewInvalidTokenError("iss claim is not a valid URL: " + err.Error())
	}
	c.iss = u
	return &c, nil
}

// legacyWorkspacePrefix marks workspace claims of older CTS releases ("ws:<id>").
const legacyWorkspacePrefix = "ws:"

func (c *claims) issuer() (*url.URL, error) {
	u := *c.iss
	return &u, nil
}

func (c *claims) subject() (string, error) { return *c.Sub, nil }

func (c *claims) workspaceID() (string, error) { return *c.Workspace, nil }

// numericClaim reads a NumericDate claim, ignoring values of other types.
func numericClaim(raw json.RawMessage) (uint64, bool) {
	var f float64
	if len(raw) == 0 || json.Unmarshal(raw, &f) != nil || f < 0 || f > math.MaxInt64 {
		return 0, false
	}
	return uint64(f), true
}

// parseAbsoluteURL accepts only absolute URLs and normalises an empty path to "/",
// as upstream's URL type does ("https://cts.example.com" → "https://cts.example.com/").
func parseAbsoluteURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "parse "))
	}
	if !u.IsAbs() || u.Host == "" && u.Opaque == "" {
		return nil, fmt.Errorf("%q is not an absolute URL", s)
	}
	if u.Path == "" && u.Opaque == "" {
		u.Path = "/"
	}
	return u, nil
}

// ServiceToken is what every strategy returns: the bearer token plus its decoded
// (unverified) claims. It is a small value; copying it is free and it never prints the
// token. A token that does not decode is still returned; its claim accessors report why.
type ServiceToken struct {
	token     SecretToken
	c         *claims
	decodeErr *AuthError
	expiresAt uint64
}

// NewServiceToken decodes the claims of token eagerly. It never fails.
func NewServiceToken(token SecretToken) ServiceToken {
	st := ServiceToken{token: token}
	c, err := decodeClaims(token.Reveal())
	if err != nil {
		st.decodeErr = err.(*AuthError)
		return st
	}
	st.c = c
	if exp, ok := numericClaim(c.Exp); ok {
		st.expiresAt = exp
	}
	return st
}

// serviceTokenFrom builds the ServiceToken of a cached Token, keeping its expiry.
func serviceTokenFrom(t *Token) ServiceToken {
	st := NewServiceToken(t.AccessToken)
	st.expiresAt = t.ExpiresAt
	return st
}

// ServiceToken is the token as strategies return it.
func (t *Token) ServiceToken() ServiceToken { return serviceTokenFrom(t) }

// Token is the bearer secret.
func (s ServiceToken) Token() SecretToken { return s.token }

// ExpiresAt is the Unix time the token expires (from the token model, or the JWT's exp
// claim); 0 when unknown.
func (s ServiceToken) ExpiresAt() uint64 { return s.expiresAt }

func (s ServiceToken) claims() (*claims, error) {
	if s.c == nil {
		if s.decodeErr == nil {
			return nil, NewInvalidTokenError("empty token")
		}
		return nil, s.decodeErr
	}
	return s.c, nil
}

// Subject is the `sub` claim, e.g. "CS|CSAKkeyId" for an access key.
func (s ServiceToken) Subject() (string, error) {
	c, err := s.claims()
	if err != nil {
		return "", err
	}
	return c.subject()
}

// WorkspaceID is the `workspace` claim.
func (s ServiceToken) WorkspaceID() (string, error) {
	c, err := s.claims()
	if err != nil {
		return "", err
	}
	return c.workspaceID()
}

// Issuer is the `iss` claim: the CTS host for the workspace.
func (s ServiceToken) Issuer() (*url.URL, error) {
	c, err := s.claims()
	if err != nil {
		return nil, err
	}
	return c.issuer()
}

// Services maps service type to URL (empty when the claim is absent).
func (s ServiceToken) Services() (map[string]string, error) {
	c, err := s.claims()
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(c.Services))
	for k, v := range c.Services {
		m[k] = v
	}
	return m, nil
}

// ZeroKMSURL is services["zerokms"].
func (s ServiceToken) ZeroKMSURL() (*url.URL, error) {
	c, err := s.claims()
	if err != nil {
		return nil, err
	}
	raw, ok := c.Services["zerokms"]
	if !ok {
		return nil, NewInvalidTokenError("Token does not include a ZeroKMS endpoint in the services claim")
	}
	u, err := parseAbsoluteURL(raw)
	if err != nil {
		return nil, newError(CodeInvalidURL, err.Error())
	}
	return u, nil
}

// VerifyWorkspace returns nil when the token belongs to workspace expected.
func (s ServiceToken) VerifyWorkspace(expected string) error {
	ws, err := s.WorkspaceID()
	if err != nil {
		return err
	}
	if ws != expected {
		return NewWorkspaceMismatch(expected, ws)
	}
	return nil
}

func (s ServiceToken) String() string   { return "ServiceToken(" + secretMask + ")" }
func (s ServiceToken) GoString() string { return s.String() }

// ServiceTokenJSON is the token result every binding hands out.
type ServiceTokenJSON struct {
	Token       SecretToken       `json:"token"`
	Subject     string            `json:"subject"`
	WorkspaceID string            `json:"workspaceId"`
	Issuer      string            `json:"issuer"`
	Services    map[string]string `json:"services"`
	ExpiresAt   uint64            `json:"expiresAt"`
}

// Result describes the token for JSON output; claims that do not decode are left empty.
func (s ServiceToken) Result() ServiceTokenJSON {
	r := ServiceTokenJSON{Token: s.token, ExpiresAt: s.expiresAt, Services: map[string]string{}}
	r.Subject, _ = s.Subject()
	r.WorkspaceID, _ = s.WorkspaceID()
	if u, err := s.Issuer(); err == nil {
		r.Issuer = u.String()
	}
	if m, err := s.Services(); err == nil {
		r.Services = m
	}
	return r
}

// jsonIndent writes the pretty JSON of profile files.
func jsonIndent(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }
