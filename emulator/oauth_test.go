package emulator

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	stackauth "github.com/stackauth/stack-auth/core"
)

func TestDeviceFlowHappyPath(t *testing.T) {
	clock := stackauth.NewManualClock(time.Unix(1_800_000_000, 0))
	s := start(t, Config{Now: clock.Now})
	r := postForm(t, s.URL()+"oauth/device/code", url.Values{
		"client_id": {"cli"}, "device_instance_id": {"5f0c6c53-2d7e-4b8e-9d0a-7c4f3f1c2b10"}, "device_name": {"laptop"},
	})
	wantStatus(t, r, http.StatusOK)
	base := regexp.QuoteMeta(s.URL())
	wantBody(t, r, `\{"device_code":"`+b64url+`","user_code":"[B-Z]{4}-[B-Z]{4}","verification_uri":"`+base+`device",`+
		`"verification_uri_complete":"`+base+`device\?user_code=[B-Z]{4}-[B-Z]{4}","expires_in":900,"interval":5\}`)
	var dc deviceCodeResponse
	decode(t, r, &dc)
	if !strings.HasSuffix(dc.VerificationURIComplete, "="+dc.UserCode) {
		t.Errorf("verification_uri_complete %s does not carry %s", dc.VerificationURIComplete, dc.UserCode)
	}

	// The first poll is immediate (upstream does not wait) and is not slow_down.
	wantOAuthError(t, pollDevice(t, s, dc.DeviceCode), http.StatusBadRequest, "authorization_pending")
	// A person may type the code in lower case without the dash.
	if err := s.Approve(strings.ToLower(strings.ReplaceAll(dc.UserCode, "-", ""))); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Second)
	r = pollDevice(t, s, dc.DeviceCode)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `\{"access_token":"`+jwtPattern+`","token_type":"Bearer","expires_in":900,"refresh_token":"`+b64url+`"\}`)
	var tok tokenResponse
	decode(t, r, &tok)
	claims := verifyWithJWKS(t, s, tok.AccessToken)
	if claims["sub"] != "CS|emulator|developer" || claims["workspace"] != s.WorkspaceID() || claims["iss"] != s.URL() {
		t.Errorf("claims %v", claims)
	}

	// The code is spent.
	wantOAuthError(t, pollDevice(t, s, dc.DeviceCode), http.StatusBadRequest, "invalid_grant")
	if err := s.Approve(dc.UserCode); err != ErrAlreadyDecided {
		t.Errorf("approving a spent code: %v", err)
	}

	// The device_instance_id travels with the session: a refresh from another device fails.
	r = postForm(t, s.URL()+"oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {"cli"}, "refresh_token": {tok.RefreshToken},
		"device_instance_id": {"00000000-0000-4000-8000-000000000000"},
	})
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
	r = postForm(t, s.URL()+"oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {"cli"}, "refresh_token": {tok.RefreshToken},
		"device_instance_id": {"5f0c6c53-2d7e-4b8e-9d0a-7c4f3f1c2b10"},
	})
	wantStatus(t, r, http.StatusOK)
}

func TestDeviceFlowErrors(t *testing.T) {
	clock := stackauth.NewManualClock(time.Unix(1_800_000_000, 0))
	s := start(t, Config{Now: clock.Now, PollInterval: -1})
	newCode := func() deviceCodeResponse {
		r := postForm(t, s.URL()+"oauth/device/code", url.Values{"client_id": {"cli"}})
		wantStatus(t, r, http.StatusOK)
		var dc deviceCodeResponse
		decode(t, r, &dc)
		return dc
	}

	t.Run("invalid_client on device code", func(t *testing.T) {
		r := postForm(t, s.URL()+"oauth/device/code", url.Values{"client_id": {"other"}})
		wantOAuthError(t, r, http.StatusBadRequest, "invalid_client")
		r = postForm(t, s.URL()+"oauth/device/code", url.Values{})
		wantOAuthError(t, r, http.StatusBadRequest, "invalid_client")
	})
	t.Run("invalid_client on poll", func(t *testing.T) {
		dc := newCode()
		r := postForm(t, s.URL()+"oauth/device/token", url.Values{
			"client_id": {"web"}, "device_code": {dc.DeviceCode}, "grant_type": {DeviceCodeGrantType},
		})
		wantOAuthError(t, r, http.StatusBadRequest, "invalid_client")
	})
	t.Run("unsupported grant type", func(t *testing.T) {
		r := postForm(t, s.URL()+"oauth/device/token", url.Values{
			"client_id": {"cli"}, "device_code": {newCode().DeviceCode}, "grant_type": {"authorization_code"},
		})
		wantOAuthError(t, r, http.StatusBadRequest, "unsupported_grant_type")
	})
	t.Run("unknown device code", func(t *testing.T) {
		wantOAuthError(t, pollDevice(t, s, "not-a-code"), http.StatusBadRequest, "invalid_grant")
	})
	t.Run("denied", func(t *testing.T) {
		dc := newCode()
		if err := s.Deny(dc.UserCode); err != nil {
			t.Fatal(err)
		}
		wantOAuthError(t, pollDevice(t, s, dc.DeviceCode), http.StatusBadRequest, "access_denied")
		if err := s.Approve(dc.UserCode); err != ErrAlreadyDecided {
			t.Errorf("approving a denied code: %v", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		dc := newCode()
		clock.Advance(899 * time.Second)
		wantOAuthError(t, pollDevice(t, s, dc.DeviceCode), http.StatusBadRequest, "authorization_pending")
		clock.Advance(time.Second)
		wantOAuthError(t, pollDevice(t, s, dc.DeviceCode), http.StatusBadRequest, "expired_token")
		if err := s.Approve(dc.UserCode); err != ErrUnknownUserCode {
			t.Errorf("approving an expired code: %v", err)
		}
	})
	t.Run("approved but expired", func(t *testing.T) {
		dc := newCode()
		if err := s.Approve(dc.UserCode); err != nil {
			t.Fatal(err)
		}
		clock.Advance(901 * time.Second)
		wantOAuthError(t, pollDevice(t, s, dc.DeviceCode), http.StatusBadRequest, "expired_token")
	})
	t.Run("unknown user code", func(t *testing.T) {
		if err := s.Approve("BBBB-BBBB"); err != ErrUnknownUserCode {
			t.Errorf("Approve: %v", err)
		}
		if err := s.Deny("nonsense"); err != ErrUnknownUserCode {
			t.Errorf("Deny: %v", err)
		}
	})
	t.Run("device code lifetime is configurable", func(t *testing.T) {
		s.SetDeviceCodeTTL(12 * time.Second)
		defer s.SetDeviceCodeTTL(0)
		dc := newCode()
		if dc.ExpiresIn != 12 {
			t.Errorf("expires_in = %d", dc.ExpiresIn)
		}
	})
}

func TestPollingFasterThanTheIntervalIsSlowDownAndTheIntervalGrows(t *testing.T) {
	clock := stackauth.NewManualClock(time.Unix(1_800_000_000, 0))
	s := start(t, Config{Now: clock.Now}) // default interval: 5 s
	r := postForm(t, s.URL()+"oauth/device/code", url.Values{"client_id": {"cli"}})
	var dc deviceCodeResponse
	decode(t, r, &dc)

	wantOAuthError(t, pollDevice(t, s, dc.DeviceCode), 400, "authorization_pending") // t=0
	clock.Advance(time.Second)
	wantOAuthError(t, pollDevice(t, s, dc.DeviceCode), 400, "slow_down") // t=1: interval becomes 10 s
	clock.Advance(5 * time.Second)
	wantOAuthError(t, pollDevice(t, s, dc.DeviceCode), 400, "slow_down") // t=6: 5 s < 10 s; now 15 s
	clock.Advance(15 * time.Second)
	wantOAuthError(t, pollDevice(t, s, dc.DeviceCode), 400, "authorization_pending") // t=21
	if err := s.Approve(dc.UserCode); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Second)
	wantOAuthError(t, pollDevice(t, s, dc.DeviceCode), 400, "slow_down") // too fast even when approved; now 20 s
	clock.Advance(20 * time.Second)
	wantStatus(t, pollDevice(t, s, dc.DeviceCode), http.StatusOK)

	// Other codes keep their own interval.
	r = postForm(t, s.URL()+"oauth/device/code", url.Values{"client_id": {"cli"}})
	decode(t, r, &dc)
	wantOAuthError(t, pollDevice(t, s, dc.DeviceCode), 400, "authorization_pending")
	clock.Advance(5 * time.Second)
	wantOAuthError(t, pollDevice(t, s, dc.DeviceCode), 400, "authorization_pending")
}

func TestRefreshRotatesAndAReplayRevokesTheWholeChain(t *testing.T) {
	s := start(t, Config{})
	rt0 := deviceLogin(t, s, nil).RefreshToken

	r := refresh(t, s, rt0)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `\{"access_token":"`+jwtPattern+`","token_type":"Bearer","expires_in":900,"refresh_token":"`+b64url+`"\}`)
	var t1 tokenResponse
	decode(t, r, &t1)
	if t1.RefreshToken == rt0 {
		t.Fatal("refresh token was not rotated")
	}
	claims := verifyWithJWKS(t, s, t1.AccessToken)
	if claims["sub"] != "CS|emulator|developer" {
		t.Errorf("sub = %v", claims["sub"])
	}
	var t2 tokenResponse
	r = refresh(t, s, t1.RefreshToken)
	wantStatus(t, r, http.StatusOK)
	decode(t, r, &t2)

	// Replaying the first (spent) token kills the chain, including the newest descendant.
	wantOAuthError(t, refresh(t, s, rt0), http.StatusBadRequest, "invalid_grant")
	wantOAuthError(t, refresh(t, s, t2.RefreshToken), http.StatusBadRequest, "invalid_grant")
	wantOAuthError(t, refresh(t, s, t1.RefreshToken), http.StatusBadRequest, "invalid_grant")

	// Another session is unaffected.
	other := deviceLogin(t, s, nil).RefreshToken
	wantStatus(t, refresh(t, s, other), http.StatusOK)

	wantOAuthError(t, refresh(t, s, "unknown"), http.StatusBadRequest, "invalid_grant")
	r = postForm(t, s.URL()+"oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"web"}, "refresh_token": {other}})
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_client")
}

func TestTokenLifetimeIsConfigurable(t *testing.T) {
	s := start(t, Config{TokenTTL: time.Hour})
	tok := deviceLogin(t, s, nil)
	if tok.ExpiresIn != 3600 {
		t.Errorf("expires_in = %d", tok.ExpiresIn)
	}
	s.SetTokenTTL(30 * time.Second)
	var next tokenResponse
	decode(t, refresh(t, s, tok.RefreshToken), &next)
	if next.ExpiresIn != 30 {
		t.Errorf("expires_in after SetTokenTTL = %d", next.ExpiresIn)
	}
	ar := authorise(t, s, s.AccessKey())
	if d := ar.Expiry - time.Now().Unix(); d < 29 || d > 31 {
		t.Errorf("authorise expiry is %ds away", d)
	}
}

func TestAutoApprove(t *testing.T) {
	s := start(t, Config{AutoApprove: true})
	r := postForm(t, s.URL()+"oauth/device/code", url.Values{"client_id": {"cli"}})
	var dc deviceCodeResponse
	decode(t, r, &dc)
	wantStatus(t, pollDevice(t, s, dc.DeviceCode), http.StatusOK)
}

// golang.org/x/oauth2 is a device-flow client we did not write: it must log in unchanged.
func TestXOAuth2DeviceFlowLogsIn(t *testing.T) {
	s := start(t, Config{PollInterval: time.Second})
	cfg := &oauth2.Config{
		ClientID: "cli",
		Endpoint: oauth2.Endpoint{
			DeviceAuthURL: s.URL() + "oauth/device/code",
			TokenURL:      s.URL() + "oauth/device/token",
			// A public client: credentials in the form. (Auto-detection would retry every
			// pending poll at once with the other style, which RFC 8628 calls slow_down.)
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	if da.Interval != 1 || da.VerificationURI != s.URL()+"device" || time.Until(da.Expiry) < 890*time.Second {
		t.Errorf("device auth response %+v", da)
	}
	approved := make(chan error, 1)
	go func() { approved <- s.Approve(da.UserCode) }()
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatalf("DeviceAccessToken: %v", err)
	}
	if err := <-approved; err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" || time.Until(tok.Expiry) < 14*time.Minute {
		t.Errorf("token: type %q, refresh %t, expiry %v", tok.TokenType, tok.RefreshToken != "", tok.Expiry)
	}
	verifyWithJWKS(t, s, tok.AccessToken)

	// x/oauth2 refreshes through the rotating refresh token too.
	cfg.Endpoint.TokenURL = s.URL() + "oauth/token"
	tok.Expiry = time.Now().Add(-time.Minute)
	next, err := cfg.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if next.RefreshToken == tok.RefreshToken || next.AccessToken == tok.AccessToken {
		t.Error("x/oauth2 refresh did not rotate")
	}
}
