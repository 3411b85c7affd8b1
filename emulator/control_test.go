package emulator

import (
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stackauth/stack-auth/core/profile"
	"github.com/stackauth/stack-auth/internal/cmdtest"
)

func TestControlConfigAndState(t *testing.T) {
	s := start(t, Config{})
	r := request(t, "GET", s.URL()+"_emulator/config", "", "")
	wantStatus(t, r, 200)
	wantBody(t, r, `\{"tokenTtlSecs":900,"deviceCodeTtlSecs":900,"pollIntervalSecs":5,"autoApprove":false\}`)
	r = postJSON(t, s.URL()+"_emulator/config", `{"tokenTtlSecs":60,"autoApprove":true,"pollIntervalSecs":0}`)
	wantBody(t, r, `\{"tokenTtlSecs":60,"deviceCodeTtlSecs":900,"pollIntervalSecs":0,"autoApprove":true\}`)
	for _, bad := range []string{`{"tokenTtlSecs":0}`, `{"deviceCodeTtlSecs":-5}`, `{"pollIntervalSecs":-1}`, `{"ttl":5}`} {
		wantOAuthError(t, postJSON(t, s.URL()+"_emulator/config", bad), 400, "invalid_request")
	}
	// The new settings apply: auto-approved code, 60 s tokens, back-to-back polls allowed.
	r = postForm(t, s.URL()+"oauth/device/code", url.Values{"client_id": {"cli"}})
	var dc deviceCodeResponse
	decode(t, r, &dc)
	if dc.Interval != 1 {
		t.Errorf("interval with slow_down off = %d, want 1", dc.Interval)
	}
	r = pollDevice(t, s, dc.DeviceCode)
	wantStatus(t, r, 200)
	var tok tokenResponse
	decode(t, r, &tok)
	if tok.ExpiresIn != 60 {
		t.Errorf("expires_in = %d", tok.ExpiresIn)
	}

	r = request(t, "GET", s.URL()+"_emulator/state", "", "")
	wantStatus(t, r, 200)
	u := regexp.QuoteMeta(s.URL())
	wantBody(t, r, `\{"url":"`+u+`","zerokmsUrl":"`+u+`zerokms/","region":"ap-southeast-2\.aws","workspaceId":"`+s.WorkspaceID()+
		`","workspaceCrn":"`+regexp.QuoteMeta(s.WorkspaceCRN())+`","workspaces":\["`+s.WorkspaceID()+`"\]\}`)
}

func TestControlApproveAndDeny(t *testing.T) {
	s := start(t, Config{PollInterval: -1})
	newCode := func() deviceCodeResponse {
		var dc deviceCodeResponse
		decode(t, postForm(t, s.URL()+"oauth/device/code", url.Values{"client_id": {"cli"}}), &dc)
		return dc
	}
	other := s.NewWorkspace()
	dc := newCode()
	r := postJSON(t, s.URL()+"_emulator/approve", `{"userCode":"`+dc.UserCode+`","workspaceId":"`+other+`","user":"alice"}`)
	wantStatus(t, r, 200)
	wantBody(t, r, `\{"status":"approved","userCode":"`+dc.UserCode+`"\}`)
	var tok tokenResponse
	decode(t, pollDevice(t, s, dc.DeviceCode), &tok)
	claims := verifyWithJWKS(t, s, tok.AccessToken)
	if claims["workspace"] != other || claims["sub"] != "CS|emulator|alice" {
		t.Errorf("claims %v", claims)
	}
	wantOAuthError(t, postJSON(t, s.URL()+"_emulator/approve", `{"userCode":"`+dc.UserCode+`"}`), 409, "conflict")

	dc = newCode()
	r = postJSON(t, s.URL()+"_emulator/deny", `{"userCode":"`+dc.UserCode+`"}`)
	wantBody(t, r, `\{"status":"denied","userCode":"`+dc.UserCode+`"\}`)
	wantOAuthError(t, pollDevice(t, s, dc.DeviceCode), 400, "access_denied")

	wantOAuthError(t, postJSON(t, s.URL()+"_emulator/approve", `{"userCode":"BBBB-BBBB"}`), 404, "not_found")
	wantOAuthError(t, postJSON(t, s.URL()+"_emulator/deny", `{"userCode":"BBBB-BBBB"}`), 404, "not_found")
	wantOAuthError(t, postJSON(t, s.URL()+"_emulator/approve", `{"userCode":"`+newCode().UserCode+`","workspaceId":"AAAAAAAAAAAAAAAA"}`), 404, "not_found")
}

func TestControlWorkspacesKeysAndTokens(t *testing.T) {
	s := start(t, Config{})
	r := postJSON(t, s.URL()+"_emulator/workspaces", `{}`)
	wantStatus(t, r, 200)
	var ws struct{ WorkspaceID, WorkspaceCrn, AccessKey string }
	decode(t, r, &ws)
	if !profile.ValidWorkspaceID(ws.WorkspaceID) || ws.WorkspaceCrn != "crn:ap-southeast-2.aws:"+ws.WorkspaceID {
		t.Fatalf("workspace %+v", ws)
	}
	if c := verifyWithJWKS(t, s, authorise(t, s, ws.AccessKey).AccessToken); c["workspace"] != ws.WorkspaceID {
		t.Errorf("workspace claim %v", c["workspace"])
	}
	r = postJSON(t, s.URL()+"_emulator/access-keys", `{"workspaceId":"`+ws.WorkspaceID+`"}`)
	wantBody(t, r, `\{"accessKey":"CSAK[A-Z2-7]{16}\.`+b64url+`"\}`)
	wantOAuthError(t, postJSON(t, s.URL()+"_emulator/access-keys", `{"workspaceId":"AAAAAAAAAAAAAAAA"}`), 404, "not_found")

	r = postJSON(t, s.URL()+"_emulator/tokens", `{"subject":"CS|test","ttlSecs":120}`)
	wantStatus(t, r, 200)
	var ar authoriseResponse
	decode(t, r, &ar)
	c := verifyWithJWKS(t, s, ar.AccessToken)
	if c["sub"] != "CS|test" || c["workspace"] != s.WorkspaceID() || int64(c["exp"].(float64)) != ar.Expiry {
		t.Errorf("claims %v", c)
	}
	if d := ar.Expiry - time.Now().Unix(); d < 119 || d > 121 {
		t.Errorf("ttl %d", d)
	}
}

// Secrets must never reach the request log or the slog output, on success or failure paths.
func TestNoSecretValueReachesTheRequestLogOrTheLogger(t *testing.T) {
	var logs cmdtest.Buffer
	s := start(t, Config{PollInterval: -1, Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	var secrets []string
	keep := func(v ...string) { secrets = append(secrets, v...) }

	key := s.AccessKey()
	keep(key, strings.SplitN(key, ".", 2)[1])
	ar := authorise(t, s, key)
	keep(ar.AccessToken)
	authoriseRaw(t, s, key+"wrong")

	r := postForm(t, s.URL()+"oauth/device/code", url.Values{"client_id": {"cli"}, "device_name": {"laptop"}})
	var dc deviceCodeResponse
	decode(t, r, &dc)
	keep(dc.DeviceCode)
	pollDevice(t, s, dc.DeviceCode)
	if err := s.Approve(dc.UserCode); err != nil {
		t.Fatal(err)
	}
	var tok tokenResponse
	decode(t, pollDevice(t, s, dc.DeviceCode), &tok)
	keep(tok.AccessToken, tok.RefreshToken)
	var next tokenResponse
	decode(t, refresh(t, s, tok.RefreshToken), &next)
	keep(next.AccessToken, next.RefreshToken)
	refresh(t, s, tok.RefreshToken) // replay: revokes, logs a warning

	req, _ := http.NewRequest("POST", s.ZeroKMSURL()+"create-client", strings.NewReader(`{"keyset_id":null,"name":"laptop","description":"laptop"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+ar.AccessToken)
	var cc createClientResponse
	decode(t, do(t, req), &cc)
	keep(cc.ClientKey)

	oidc := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"user_1"}`)) + ".c2VjcmV0LXNpZ25hdHVyZQ"
	keep(oidc)
	postJSON(t, s.URL()+"api/authorise", mustJSON(t, map[string]string{"oidcToken": oidc, "workspaceId": s.WorkspaceID()}))
	var ws struct{ AccessKey string }
	decode(t, postJSON(t, s.URL()+"_emulator/workspaces", `{}`), &ws)
	keep(ws.AccessKey)

	logged, err := json.Marshal(s.Requests())
	if err != nil {
		t.Fatal(err)
	}
	served := request(t, "GET", s.URL()+"_emulator/requests", "", "")
	for _, secret := range secrets {
		if secret == "" {
			t.Fatal("a flow produced an empty secret")
		}
		for where, text := range map[string]string{"Requests()": string(logged), "/_emulator/requests": string(served.body), "slog": logs.String()} {
			if strings.Contains(text, secret) {
				t.Errorf("a secret value appears in %s", where)
			}
		}
	}
	if strings.Contains(logs.String(), dc.UserCode) {
		t.Error("the user code appears in the log")
	}

	// Key names are there.
	var sawPoll, sawAuthorise bool
	for _, r := range s.Requests() {
		switch {
		case r.Path == "/oauth/device/token" && slices.Equal(r.Keys, []string{"client_id", "device_code", "grant_type"}):
			sawPoll = true
		case r.Path == "/api/authorise" && slices.Equal(r.Keys, []string{"accessKey"}) && r.Status == 200:
			sawAuthorise = true
		}
	}
	if !sawPoll || !sawAuthorise {
		t.Errorf("request log lacks key names: %s", logged)
	}
	wantBody(t, served, `\{"requests":\[(\{"method":"[A-Z]+","path":"[^"]+","keys":\[("[a-z_A-Z]+",?)*\],"status":\d+,"time":"[^"]+"\},?)+\]\}`)
	if n := s.RequestCount("/oauth/token"); n != 2 {
		t.Errorf("RequestCount(/oauth/token) = %d", n)
	}
	wantStatus(t, request(t, "DELETE", s.URL()+"_emulator/requests", "", ""), 200)
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests after clearing", n)
	}
}
