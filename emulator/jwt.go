// This file mints and verifies the CTS access tokens (ES256 JWTs) and publishes the JWKS.

package emulator

import (
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// tokenScope is the scope claim of every minted token. Clients never read it; it is there
// because upstream's older claim decoders required the claim to exist (docs/protocol.md 3.4).
const tokenScope = "dataset:create dataset:list client:create client:list data_key:generate data_key:retrieve"

// ctsClaims is the CTS token claim set, in the order upstream's fixtures use (docs/protocol.md 3.4).
// aud is a plain string: golang-jwt's ClaimStrings would marshal it as an array.
type ctsClaims struct {
	Iss       string            `json:"iss"`
	Sub       string            `json:"sub"`
	Aud       string            `json:"aud"`
	Iat       int64             `json:"iat"`
	Exp       int64             `json:"exp"`
	Workspace string            `json:"workspace"`
	OrgID     string            `json:"org_id"`
	Scope     string            `json:"scope"`
	Services  map[string]string `json:"services"`
}

func (c *ctsClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.Exp, 0)), nil
}
func (c *ctsClaims) GetIssuedAt() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.Iat, 0)), nil
}
func (c *ctsClaims) GetNotBefore() (*jwt.NumericDate, error) { return nil, nil }
func (c *ctsClaims) GetIssuer() (string, error)              { return c.Iss, nil }
func (c *ctsClaims) GetSubject() (string, error)             { return c.Sub, nil }
func (c *ctsClaims) GetAudience() (jwt.ClaimStrings, error)  { return jwt.ClaimStrings{c.Aud}, nil }

// mintedToken is a signed access token and its absolute expiry.
type mintedToken struct {
	jwt string
	iat int64
	exp int64
}

// expiresIn is the relative lifetime the OAuth endpoints report.
func (t mintedToken) expiresIn() int64 { return t.exp - t.iat }

// mint signs an access token for a workspace. base is the advertised base URL: the iss claim,
// so a client that discovers the CTS from iss comes back here.
func (s *Server) mint(base, workspaceID, subject, audience string, ttl time.Duration) (mintedToken, error) {
	s.mu.Lock()
	if ttl <= 0 {
		ttl = s.tokenTTL
	}
	ws := s.workspaces[workspaceID]
	orgID := ""
	if ws != nil {
		orgID = ws.orgID
	}
	s.mu.Unlock()
	if audience == "" {
		audience = base
	}
	now := s.now()
	iat := now.Unix()
	exp := now.Add(ttl).Unix()
	if exp <= iat {
		exp = iat + 1 // a sub-second TTL still yields a token that is valid for a moment
	}
	claims := &ctsClaims{
		Iss:       base,
		Sub:       subject,
		Aud:       audience,
		Iat:       iat,
		Exp:       exp,
		Workspace: workspaceID,
		OrgID:     orgID,
		Scope:     tokenScope,
		Services:  map[string]string{"zerokms": base + "zerokms/"},
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"] = s.keyID
	signed, err := tok.SignedString(s.key)
	if err != nil {
		return mintedToken{}, err
	}
	return mintedToken{jwt: signed, iat: iat, exp: exp}, nil
}

// MintAccessToken returns a signed CTS access token for tests (e.g. of ZeroKMS calls).
// subject is the sub claim as-is; ttl <= 0 uses the configured token lifetime. iss is URL(),
// so call it after Start (or SetBaseURL). It returns "" only if signing fails.
func (s *Server) MintAccessToken(workspaceID, subject string, ttl time.Duration) string {
	t, err := s.mint(s.URL(), workspaceID, subject, "", ttl)
	if err != nil {
		return ""
	}
	return t.jwt
}

var errBadToken = errors.New("invalid access token")

// verify checks a bearer token's signature and expiry and returns its claims.
func (s *Server) verify(raw string) (*ctsClaims, error) {
	claims := &ctsClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		return &s.key.PublicKey, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}),
		jwt.WithTimeFunc(s.now),
		jwt.WithExpirationRequired(),
	)
	if err != nil {
		// The parser's error text can quote the token's content; callers get a fixed error.
		return nil, errBadToken
	}
	return claims, nil
}

// jwk is one JSON Web Key (RFC 7517) for a P-256 public key.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	pub, err := s.key.PublicKey.ECDH()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "signing key unavailable")
		return
	}
	pt := pub.Bytes() // 0x04 || X || Y, each 32 bytes
	enc := base64.RawURLEncoding
	writeJSON(w, http.StatusOK, struct {
		Keys []jwk `json:"keys"`
	}{[]jwk{{
		Kty: "EC", Crv: "P-256",
		X: enc.EncodeToString(pt[1:33]), Y: enc.EncodeToString(pt[33:65]),
		Kid: s.keyID, Use: "sig", Alg: "ES256",
	}}})
}
