package emulator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	stackauth "github.com/stackauth/stack-auth/core"
	"github.com/stackauth/stack-auth/core/profile"
)

// verifyWithJWKS checks a token's signature against the published JWKS, as a resource server
// would, and returns its claims.
func verifyWithJWKS(t *testing.T, s *Server, token string) jwt.MapClaims {
	t.Helper()
	r := request(t, http.MethodGet, s.URL()+".well-known/jwks.json", "", "")
	wantStatus(t, r, http.StatusOK)
	var set struct {
		Keys []struct{ Kty, Crv, X, Y, Kid, Use, Alg string }
	}
	decode(t, r, &set)
	if len(set.Keys) != 1 || set.Keys[0].Kty != "EC" || set.Keys[0].Crv != "P-256" || set.Keys[0].Alg != "ES256" {
		t.Fatalf("unexpected JWKS %s", r.body)
	}
	k := set.Keys[0]
	x, errX := base64.RawURLEncoding.DecodeString(k.X)
	y, errY := base64.RawURLEncoding.DecodeString(k.Y)
	if errX != nil || errY != nil {
		t.Fatalf("JWKS coordinates are not base64url: %s", r.body)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		t.Fatalf("JWKS key: %v", err)
	}
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(token, claims, func(tok *jwt.Token) (any, error) {
		if tok.Header["kid"] != k.Kid {
			return nil, fmt.Errorf("kid %v not in JWKS", tok.Header["kid"])
		}
		return pub, nil
	}, jwt.WithValidMethods([]string{"ES256"}))
	if err != nil || !tok.Valid {
		t.Fatalf("token does not verify against the JWKS: %v", err)
	}
	return claims
}

func TestAccessKeyExchangeReturnsAbsoluteExpiryAndAVerifiableJWT(t *testing.T) {
	s := start(t, Config{})
	key := s.AccessKey()
	before := time.Now().Unix()
	r := postJSON(t, s.URL()+"api/authorise", mustJSON(t, map[string]string{"accessKey": key, "audience": "my-aud"}))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `\{"accessToken":"`+jwtPattern+`","expiry":\d{10}\}`)
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("token response must not be cacheable")
	}
	var ar authoriseResponse
	decode(t, r, &ar)

	claims := verifyWithJWKS(t, s, ar.AccessToken)
	exp := int64(claims["exp"].(float64))
	if ar.Expiry != exp {
		t.Errorf("expiry %d != JWT exp %d", ar.Expiry, exp)
	}
	if ttl := exp - before; ttl < 899 || ttl > 901 {
		t.Errorf("expiry is %ds away, want an absolute time ~15m ahead", ttl)
	}
	keyID := strings.SplitN(strings.TrimPrefix(key, "CSAK"), ".", 2)[0]
	want := map[string]any{
		"iss": s.URL(), "sub": "CS|CSAK" + keyID, "aud": "my-aud", "workspace": s.WorkspaceID(),
		"services": map[string]any{"zerokms": s.ZeroKMSURL()},
	}
	for k, v := range want {
		if fmt.Sprint(claims[k]) != fmt.Sprint(v) {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	for _, k := range []string{"iat", "scope", "org_id"} {
		if _, ok := claims[k]; !ok {
			t.Errorf("claim %s missing", k)
		}
	}
	if !strings.HasSuffix(s.ZeroKMSURL(), "/zerokms/") || !strings.HasPrefix(s.ZeroKMSURL(), s.URL()) {
		t.Errorf("ZeroKMSURL = %q", s.ZeroKMSURL())
	}
}

func TestWorkspaceIdentifiers(t *testing.T) {
	s := start(t, Config{Region: "eu-west-1.aws"})
	if !profile.ValidWorkspaceID(s.WorkspaceID()) {
		t.Errorf("workspace id %q is not 16 chars of A-Z2-7", s.WorkspaceID())
	}
	if s.WorkspaceCRN() != "crn:eu-west-1.aws:"+s.WorkspaceID() {
		t.Errorf("crn = %q", s.WorkspaceCRN())
	}
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || !strings.HasSuffix(s.URL(), "/") {
		t.Errorf("URL = %q", s.URL())
	}
}

func TestAccessKeysOfAnotherWorkspaceMintTokensForThatWorkspace(t *testing.T) {
	s := start(t, Config{})
	ws := s.NewWorkspace()
	key, err := s.NewAccessKey(ws)
	if err != nil {
		t.Fatal(err)
	}
	claims := verifyWithJWKS(t, s, authorise(t, s, key).AccessToken)
	if claims["workspace"] != ws || ws == s.WorkspaceID() {
		t.Errorf("workspace claim %v, want %s", claims["workspace"], ws)
	}
	if _, err := s.NewAccessKey("NOPE"); err == nil {
		t.Error("NewAccessKey accepted an unknown workspace")
	}
}

func TestBadAccessKeysAreRefused(t *testing.T) {
	s := start(t, Config{})
	good := s.AccessKey()
	keyID, secret, _ := strings.Cut(strings.TrimPrefix(good, "CSAK"), ".")
	for name, key := range map[string]string{
		"wrong secret":   "CSAK" + keyID + "." + secret + "x",
		"unknown key id": "CSAKAAAAAAAAAAAAAAAA." + secret,
		"no prefix":      keyID + "." + secret,
		"no dot":         "CSAK" + keyID + secret,
		"empty secret":   "CSAK" + keyID + ".",
		"empty key id":   "CSAK." + secret,
	} {
		t.Run(name, func(t *testing.T) {
			r := postJSON(t, s.URL()+"api/authorise", mustJSON(t, map[string]string{"accessKey": key}))
			wantOAuthError(t, r, http.StatusUnauthorized, "access_denied")
		})
	}
}

func TestOIDCFederation(t *testing.T) {
	s := start(t, Config{})
	seg := func(v any) string { return base64.RawURLEncoding.EncodeToString([]byte(mustJSON(t, v))) }
	providerJWT := seg(map[string]any{"alg": "RS256", "srf": true}) + "." +
		seg(map[string]any{"sub": "auth0|user123", "iss": "https://idp.example"}) + ".c2ln"

	r := postJSON(t, s.URL()+"api/authorise", mustJSON(t, map[string]string{"oidcToken": providerJWT, "workspaceId": s.WorkspaceID()}))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `\{"accessToken":"`+jwtPattern+`","expiry":\d{10}\}`)
	var ar authoriseResponse
	decode(t, r, &ar)
	claims := verifyWithJWKS(t, s, ar.AccessToken)
	if claims["sub"] != "CS|auth0|user123" || claims["workspace"] != s.WorkspaceID() {
		t.Errorf("claims %v", claims)
	}

	cases := []struct {
		name, token, workspace string
		status                 int
		code                   string
	}{
		{"not a JWT", "opaque-token", s.WorkspaceID(), 401, "access_denied"},
		{"four segments", "a.b.c.d", s.WorkspaceID(), 401, "access_denied"},
		{"unknown workspace", providerJWT, "AAAAAAAAAAAAAAAA", 403, "access_denied"},
		{"malformed workspace", providerJWT, "lower-case", 400, "invalid_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := postJSON(t, s.URL()+"api/authorise", mustJSON(t, map[string]string{"oidcToken": c.token, "workspaceId": c.workspace}))
			wantOAuthError(t, r, c.status, c.code)
		})
	}
}

func TestMalformedInputIsAnOAuthStyle4xx(t *testing.T) {
	s := start(t, Config{})
	key := s.AccessKey()
	token := s.MintAccessToken(s.WorkspaceID(), "CS|test", 0)
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
	}{
		{"bad JSON", "POST", "api/authorise", "application/json", `{"accessKey":`, 400},
		{"JSON array", "POST", "api/authorise", "application/json", `["CSAK"]`, 400},
		{"JSON null", "POST", "api/authorise", "application/json", `null`, 400},
		{"trailing data", "POST", "api/authorise", "application/json", `{"accessKey":"` + key + `"} {}`, 400},
		{"unknown key", "POST", "api/authorise", "application/json", `{"accessKey":"` + key + `","extra":1}`, 400},
		{"wrong type", "POST", "api/authorise", "application/json", `{"accessKey":42}`, 400},
		{"empty object", "POST", "api/authorise", "application/json", `{}`, 400},
		{"key and oidc", "POST", "api/authorise", "application/json", `{"accessKey":"` + key + `","oidcToken":"a.b.c"}`, 400},
		{"form to JSON endpoint", "POST", "api/authorise", "application/x-www-form-urlencoded", "accessKey=" + key, 415},
		{"no content type", "POST", "api/authorise", "", `{"accessKey":"` + key + `"}`, 415},
		{"wrong method", "GET", "api/authorise", "", "", 405},
		{"PUT", "PUT", "oauth/token", "application/x-www-form-urlencoded", "", 405},
		{"JSON to form endpoint", "POST", "oauth/device/code", "application/json", `{"client_id":"cli"}`, 415},
		{"bad form escape", "POST", "oauth/device/code", "application/x-www-form-urlencoded", "client_id=%zz", 400},
		{"repeated parameter", "POST", "oauth/device/code", "application/x-www-form-urlencoded", "client_id=cli&client_id=cli", 400},
		{"missing device_code", "POST", "oauth/device/token", "application/x-www-form-urlencoded", "client_id=cli&grant_type=" + url.QueryEscape(DeviceCodeGrantType), 400},
		{"wrong grant type", "POST", "oauth/device/token", "application/x-www-form-urlencoded", "client_id=cli&grant_type=password&device_code=x", 400},
		{"refresh without token", "POST", "oauth/token", "application/x-www-form-urlencoded", "client_id=cli&grant_type=refresh_token", 400},
		{"refresh wrong grant", "POST", "oauth/token", "application/x-www-form-urlencoded", "client_id=cli&grant_type=client_credentials&refresh_token=x", 400},
		{"unknown path", "POST", "api/nope", "application/json", `{}`, 404},
		{"jwks POST", "POST", ".well-known/jwks.json", "", "", 405},
		{"create-client bad JSON", "POST", "zerokms/create-client", "application/json", `{"name":`, 400},
		{"create-client unknown key", "POST", "zerokms/create-client", "application/json", `{"keyset_id":null,"name":"n","description":"d","x":1}`, 400},
		{"create-client no name", "POST", "zerokms/create-client", "application/json", `{"keyset_id":null,"name":"","description":"d"}`, 400},
		{"create-client bad keyset", "POST", "zerokms/create-client", "application/json", `{"keyset_id":"nope","name":"n","description":"d"}`, 400},
		{"control bad JSON", "POST", "_emulator/faults", "application/json", `{"path":`, 400},
		{"control bad fault", "POST", "_emulator/faults", "application/json", `{"path":"nope","status":503}`, 400},
		{"control bad status", "POST", "_emulator/faults", "application/json", `{"path":"/x","status":42}`, 400},
		{"control wrong method", "PUT", "_emulator/state", "", "", 405},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, s.URL()+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			if strings.HasPrefix(c.path, "zerokms/") {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			r := do(t, req)
			wantStatus(t, r, c.status)
			var e map[string]string
			decode(t, r, &e)
			if e["error"] == "" || e["error_description"] == "" || len(e) != 2 {
				t.Fatalf("not an OAuth-style error body: %s", r.body)
			}
			if c.status == 405 && r.header.Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
		})
	}
}

// A chunked body has no Content-Length; reqwest and others send one when streaming.
func TestChunkedRequestBodyIsAccepted(t *testing.T) {
	s := start(t, Config{})
	pr, pw := io.Pipe()
	go func() {
		body := mustJSON(t, map[string]string{"accessKey": s.AccessKey()})
		for i := 0; i < len(body); i += 7 { // several chunks
			_, _ = pw.Write([]byte(body[i:min(i+7, len(body))]))
		}
		_ = pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"api/authorise", pr)
	req.Header.Set("Content-Type", "application/json")
	if req.ContentLength != 0 && req.ContentLength != -1 {
		t.Fatalf("expected an unknown length, got %d", req.ContentLength)
	}
	r := do(t, req)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `\{"accessToken":"`+jwtPattern+`","expiry":\d+\}`)
}

func TestBodiesOverOneMiBAre413(t *testing.T) {
	s := start(t, Config{})
	big := strings.Repeat("a", maxBody+1)
	t.Run("json", func(t *testing.T) {
		r := postJSON(t, s.URL()+"api/authorise", `{"accessKey":"`+big+`"}`)
		wantOAuthError(t, r, http.StatusRequestEntityTooLarge, "invalid_request")
	})
	t.Run("form", func(t *testing.T) {
		r := request(t, http.MethodPost, s.URL()+"oauth/device/code", "application/x-www-form-urlencoded", "client_id=cli&x="+big)
		wantOAuthError(t, r, http.StatusRequestEntityTooLarge, "invalid_request")
	})
	t.Run("chunked", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"api/authorise", io.MultiReader(strings.NewReader(`{"accessKey":"`), strings.NewReader(big)))
		req.Header.Set("Content-Type", "application/json")
		wantOAuthError(t, do(t, req), http.StatusRequestEntityTooLarge, "invalid_request")
	})
	t.Run("exactly 1 MiB is fine", func(t *testing.T) {
		body := mustJSON(t, map[string]string{"accessKey": s.AccessKey()})
		body = body[:len(body)-1] + strings.Repeat(" ", maxBody-len(body)) + "}"
		r := postJSON(t, s.URL()+"api/authorise", body)
		wantStatus(t, r, http.StatusOK)
	})
}

func TestUsageLimitRefusesEveryIssuanceWith402(t *testing.T) {
	s := start(t, Config{PollInterval: -1})
	key := s.AccessKey()
	tok := deviceLogin(t, s, nil)
	dc := postForm(t, s.URL()+"oauth/device/code", url.Values{"client_id": {"cli"}})
	var code deviceCodeResponse
	decode(t, dc, &code)
	if err := s.Approve(code.UserCode); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct{ code, desc string }{
		{CodeUsageLimitExceeded, usageLimitDescription},
		{CodeOrgNotProvisioned, orgNotProvisionedDescribe},
	} {
		r := postJSON(t, s.URL()+"_emulator/usage-limit", mustJSON(t, map[string]string{"workspaceId": s.WorkspaceID(), "code": c.code}))
		wantStatus(t, r, http.StatusOK)
		want := `\{"error":"access_denied","error_description":"` + c.desc + `","cs_code":"` + c.code + `"\}`

		r = postJSON(t, s.URL()+"api/authorise", mustJSON(t, map[string]string{"accessKey": key}))
		wantStatus(t, r, http.StatusPaymentRequired)
		wantBody(t, r, want)
		r = refresh(t, s, tok.RefreshToken)
		wantStatus(t, r, http.StatusPaymentRequired)
		wantBody(t, r, want)
		r = pollDevice(t, s, code.DeviceCode)
		wantStatus(t, r, http.StatusPaymentRequired)
		wantBody(t, r, want)
	}

	r := postJSON(t, s.URL()+"_emulator/usage-limit", `{"workspaceId":"`+s.WorkspaceID()+`","code":""}`)
	wantStatus(t, r, http.StatusOK)
	authorise(t, s, key)
	// A refused refresh or poll did not spend anything.
	wantStatus(t, refresh(t, s, tok.RefreshToken), http.StatusOK)
	wantStatus(t, pollDevice(t, s, code.DeviceCode), http.StatusOK)

	r = postJSON(t, s.URL()+"_emulator/usage-limit", `{"workspaceId":"`+s.WorkspaceID()+`","code":"NOPE"}`)
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_request")
}

func TestCreateClient(t *testing.T) {
	clock := stackauth.NewManualClock(time.Unix(1_800_000_000, 0))
	s := start(t, Config{Now: clock.Now})
	token := authorise(t, s, s.AccessKey()).AccessToken
	call := func(bearer, body string) response {
		req, _ := http.NewRequest(http.MethodPost, s.ZeroKMSURL()+"create-client", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "stack-auth/0.35.0 (linux x86_64)")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		return do(t, req)
	}
	body := `{"keyset_id":null,"name":"laptop","description":"laptop"}`

	r := call(token, body)
	wantStatus(t, r, http.StatusOK)
	uuidRe := `[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`
	wantBody(t, r, `\{"id":"`+uuidRe+`","dataset_id":"`+uuidRe+`","name":"laptop","description":"laptop","client_key":"[A-Za-z0-9+/]+=*"\}`)
	var cc createClientResponse
	decode(t, r, &cc)
	if raw, err := base64.StdEncoding.DecodeString(cc.ClientKey); err != nil || len(raw) < 32 {
		t.Errorf("client_key is not base64 of a key: %v", err)
	}

	wantOAuthError(t, call(token, body), http.StatusConflict, "conflict")
	// The same name in another workspace is a different client.
	other := s.NewWorkspace()
	wantStatus(t, call(s.MintAccessToken(other, "CS|x", 0), body), http.StatusOK)
	// A chosen keyset becomes the dataset.
	ks := "0b0e4f4e-6c1f-4f4e-9a51-2f0a9d5f8c11"
	r = call(token, `{"keyset_id":"`+ks+`","name":"other","description":""}`)
	wantStatus(t, r, http.StatusOK)
	decode(t, r, &cc)
	if cc.DatasetID != ks {
		t.Errorf("dataset_id = %s, want %s", cc.DatasetID, ks)
	}

	foreign, _ := New(Config{}) // same claims, different signing key
	parts := strings.Split(token, ".")
	for name, bad := range map[string]string{
		"missing":        "",
		"not a JWT":      "nope",
		"foreign key":    foreign.MintAccessToken(s.WorkspaceID(), "CS|x", 0),
		"tampered":       parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"workspace":"X"}`)) + "." + parts[2],
		"alg none":       base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".",
		"unknown tenant": s.MintAccessToken("AAAAAAAAAAAAAAAA", "CS|x", 0),
	} {
		t.Run(name, func(t *testing.T) {
			r := call(bad, `{"keyset_id":null,"name":"n-`+name+`","description":""}`)
			wantOAuthError(t, r, http.StatusUnauthorized, "invalid_token")
			if r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	clock.Advance(16 * time.Minute)
	wantOAuthError(t, call(token, `{"keyset_id":null,"name":"late","description":""}`), http.StatusUnauthorized, "invalid_token")
}

func TestHandlerServesUnderHTTPTest(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	// Without SetBaseURL the advertised URLs come from the request's Host.
	r := postForm(t, ts.URL+"/oauth/device/code", url.Values{"client_id": {"cli"}})
	wantStatus(t, r, http.StatusOK)
	var dc deviceCodeResponse
	decode(t, r, &dc)
	if dc.VerificationURI != ts.URL+"/device" {
		t.Errorf("verification_uri = %s", dc.VerificationURI)
	}
	s.SetBaseURL(ts.URL)
	if s.URL() != ts.URL+"/" || s.ZeroKMSURL() != ts.URL+"/zerokms/" {
		t.Errorf("URL() = %s", s.URL())
	}
	r = postJSON(t, ts.URL+"/api/authorise", mustJSON(t, map[string]string{"accessKey": s.AccessKey()}))
	wantStatus(t, r, http.StatusOK)
	var ar authoriseResponse
	decode(t, r, &ar)
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(ar.AccessToken, claims); err != nil || claims["iss"] != ts.URL+"/" {
		t.Errorf("iss = %v (%v)", claims["iss"], err)
	}
}

func TestStartRefusesNonLoopbackAddresses(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0"} {
		s, err := New(Config{Addr: addr})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err == nil {
			s.Close()
			t.Errorf("Start(%q) succeeded", addr)
		}
	}
	if err := checkLoopback("localhost:8787", false); err != nil {
		t.Errorf("localhost refused: %v", err)
	}
	if err := checkLoopback("0.0.0.0:8787", true); err != nil {
		t.Errorf("AllowNonLoopback ignored: %v", err)
	}
	s, _ := New(Config{Addr: "127.0.0.1:0"})
	if err := s.Start(); err != nil {
		t.Fatalf("127.0.0.1: %v", err)
	}
	if err := s.Start(); err == nil {
		t.Error("second Start succeeded")
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Start(); err == nil {
		t.Error("Start after Close succeeded")
	}
}

func TestJWKSShape(t *testing.T) {
	s := start(t, Config{})
	r := request(t, http.MethodGet, s.URL()+".well-known/jwks.json", "", "")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `\{"keys":\[\{"kty":"EC","crv":"P-256","x":"`+b64url+`","y":"`+b64url+`","kid":"`+b64url+`","use":"sig","alg":"ES256"\}\]\}`)
	var v map[string]json.RawMessage
	decode(t, r, &v)
}
