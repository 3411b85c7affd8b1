package stackauth

// docs/upstream.md 10.12, upstream device_code/tests.rs: begin, the poll loop on a manual clock
// (sleeps advance it instantly), persistence, the base-URL joins, and the device identity sent.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackauth/stack-auth/core/profile"
)

const portDeviceCode = "device-code-secret-123"

// portDeviceFlow is a DeviceCodeStrategy against a fake CTS whose sleeps advance a
// ManualClock instantly and are recorded.
type portDeviceFlow struct {
	fake       *fakeCTS
	clock      *ManualClock
	profileDir string
	s          *DeviceCodeStrategy

	mu     sync.Mutex
	sleeps []time.Duration
}

func newPortDeviceFlow(t *testing.T, opts ...Option) *portDeviceFlow {
	t.Helper()
	f := &portDeviceFlow{fake: newFakeCTS(t), clock: testClock(), profileDir: t.TempDir()}
	sleep := func(_ context.Context, d time.Duration) error {
		f.mu.Lock()
		f.sleeps = append(f.sleeps, d)
		f.mu.Unlock()
		f.clock.Advance(d)
		return nil
	}
	all := append([]Option{WithBaseURL(f.fake.URL), WithProfileDir(f.profileDir), WithClock(f.clock),
		withSleep(sleep), emptyEnv()}, opts...)
	s, err := NewDeviceCodeStrategy(testRegion, CLIClientID, all...)
	require.NoError(t, err)
	f.s = s
	f.fake.handle("/oauth/device/code", portDeviceCodeOK(900))
	return f
}

// portDeviceCodeOK answers the device authorization request with code portDeviceCode.
func portDeviceCodeOK(expiresIn int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{
			"device_code": portDeviceCode, "user_code": "ABCD-EFGH",
			"verification_uri":          "https://cts.example.com/device",
			"verification_uri_complete": "https://cts.example.com/device?user_code=ABCD-EFGH",
			"expires_in":                expiresIn, "interval": 1,
		})
	}
}

func (f *portDeviceFlow) recordedSleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// tokenOK answers the poll with a session token for testWS.
func (f *portDeviceFlow) tokenOK(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		exp := f.clock.Now().Add(time.Hour).Unix()
		writeJSON(w, 200, map[string]any{"access_token": portJWT(t, testWS, exp), "token_type": "Bearer",
			"expires_in": 3600, "refresh_token": "session-refresh-token"})
	}
}

// script answers successive polls with the given handlers; the last one repeats.
func portScript(hs ...http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	i := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := hs[min(i, len(hs)-1)]
		i++
		mu.Unlock()
		h(w, r)
	}
}

func (f *portDeviceFlow) begin(t *testing.T) *PendingDeviceCode {
	t.Helper()
	p, err := f.s.Begin(portCtx(t))
	require.NoError(t, err)
	return p
}

// approvedPoll begins a login that the server approves at once and polls it: the token
// and the spent pending code.
func (f *portDeviceFlow) approvedPoll(t *testing.T) (*PendingDeviceCode, *Token) {
	t.Helper()
	f.fake.handle("/oauth/device/token", f.tokenOK(t))
	p := f.begin(t)
	tok, err := p.PollForToken(portCtx(t))
	require.NoError(t, err)
	return p, tok
}

func TestDeviceCode_BeginReturnsPendingDeviceCode(t *testing.T) {
	f := newPortDeviceFlow(t)
	p := f.begin(t)
	assert.Equal(t, "ABCD-EFGH", p.UserCode)
	assert.Equal(t, "https://cts.example.com/device", p.VerificationURI)
	assert.Equal(t, "https://cts.example.com/device?user_code=ABCD-EFGH", p.VerificationURIComplete)
	assert.Equal(t, uint64(900), p.ExpiresIn)
	assert.Equal(t, "client_id=cli", f.fake.body("/oauth/device/code", 0))
	assert.Equal(t, "application/x-www-form-urlencoded", f.fake.header("/oauth/device/code", 0).Get("content-type"))
}

func TestDeviceCode_BeginSendsTheDeviceIdentity(t *testing.T) {
	f := newPortDeviceFlow(t, WithDeviceIdentity(DeviceIdentity{DeviceInstanceID: "3b0f6a8e-2c4d-4e5f-8a9b-0c1d2e3f4a5b", DeviceName: "my laptop"}))
	f.begin(t)
	assert.Equal(t, "client_id=cli&device_instance_id=3b0f6a8e-2c4d-4e5f-8a9b-0c1d2e3f4a5b&device_name=my+laptop",
		f.fake.body("/oauth/device/code", 0))
}

func TestDeviceCode_BeginInvalidClient(t *testing.T) {
	f := newPortDeviceFlow(t)
	f.fake.handle("/oauth/device/code", portOAuthError(400, "invalid_client"))
	_, err := f.s.Begin(portCtx(t))
	portRequireCode(t, err, CodeInvalidClient)
}

func TestDeviceCode_BeginServerError(t *testing.T) {
	f := newPortDeviceFlow(t)
	f.fake.handle("/oauth/device/code", portOAuthError(500, "server_error"))
	_, err := f.s.Begin(portCtx(t))
	ae := portRequireCode(t, err, CodeServer)
	assert.Equal(t, "server_error occurred", ae.Detail)
}

func TestDeviceCode_BeginUnparseableErrorBodyIsRequestError(t *testing.T) {
	f := newPortDeviceFlow(t)
	f.fake.handle("/oauth/device/code", func(w http.ResponseWriter, r *http.Request) { writeText(w, 502, "<html>bad gateway</html>") })
	_, err := f.s.Begin(portCtx(t))
	portRequireCode(t, err, CodeRequest)
}

func TestDeviceCode_PollForTokenSuccess(t *testing.T) {
	f := newPortDeviceFlow(t)
	_, tok := f.approvedPoll(t)

	now := uint64(f.clock.Now().Unix())
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.False(t, tok.IsExpiredAt(now))
	assert.Equal(t, uint64(3600), tok.ExpiresInAt(now), "expires_in is relative to now")
	assert.Equal(t, "session-refresh-token", tok.RefreshToken.Reveal())
	assert.Equal(t, testRegion, tok.Region)
	assert.Equal(t, CLIClientID, tok.ClientID)
	portRequireWorkspace(t, tok, testWS)

	assert.Equal(t, 1, f.fake.count("/oauth/device/token"), "the first poll happens immediately")
	assert.Empty(t, f.recordedSleeps())
	assert.Equal(t, "client_id=cli&device_code="+portDeviceCode+
		"&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code", f.fake.body("/oauth/device/token", 0))

	current, err := os.ReadFile(filepath.Join(f.profileDir, "current_workspace"))
	require.NoError(t, err)
	assert.Equal(t, testWS, strings.TrimSpace(string(current)))
	authPath := filepath.Join(f.profileDir, "workspaces", testWS, "auth.json")
	assert.Equal(t, os.FileMode(0o600), portFileMode(t, authPath))
	data, err := os.ReadFile(authPath)
	require.NoError(t, err)
	saved := portDecodeJSON[Token](t, data)
	assert.Equal(t, tok.AccessToken.Reveal(), saved.AccessToken.Reveal())
	assert.Equal(t, "session-refresh-token", saved.RefreshToken.Reveal())
	assert.Equal(t, testRegion, saved.Region)
	assert.Equal(t, CLIClientID, saved.ClientID)
}

func TestDeviceCode_PollForTokenStampsTheDeviceInstance(t *testing.T) {
	f := newPortDeviceFlow(t, WithDeviceIdentity(DeviceIdentity{DeviceInstanceID: "device-7", DeviceName: "host"}))
	_, tok := f.approvedPoll(t)
	assert.Equal(t, "device-7", tok.DeviceInstanceID)
}

func TestDeviceCode_PollForTokenTerminalErrors(t *testing.T) {
	cases := []struct{ oauthError, code string }{
		{"access_denied", CodeAccessDenied},
		{"expired_token", CodeExpiredToken},
		{"invalid_grant", CodeInvalidGrant},
		{"invalid_client", CodeInvalidClient},
		{"unknown_error", CodeServer},
	}
	for _, tc := range cases {
		t.Run(tc.oauthError, func(t *testing.T) {
			f := newPortDeviceFlow(t)
			f.fake.handle("/oauth/device/token", portOAuthError(400, tc.oauthError))
			_, err := f.begin(t).PollForToken(portCtx(t))
			ae := portRequireCode(t, err, tc.code)
			if tc.code == CodeServer {
				assert.Equal(t, "unknown_error occurred", ae.Detail)
			}
			assert.Equal(t, 1, f.fake.count("/oauth/device/token"), "no retry after a terminal answer")
			_, statErr := os.Stat(filepath.Join(f.profileDir, "current_workspace"))
			assert.True(t, os.IsNotExist(statErr), "nothing persisted")
		})
	}
}

func TestDeviceCode_PollForToken402IsAUsageLimit(t *testing.T) {
	f := newPortDeviceFlow(t)
	f.fake.handle("/oauth/device/token", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 402, map[string]any{"error": "access_denied", "cs_code": "ORG_NOT_PROVISIONED"})
	})
	_, err := f.begin(t).PollForToken(portCtx(t))
	portRequireCode(t, err, CodeOrgNotProvisioned)
}

func TestDeviceCode_PollForTokenAuthorizationPendingThenSuccess(t *testing.T) {
	f := newPortDeviceFlow(t)
	f.fake.handle("/oauth/device/token", portScript(portOAuthError(400, "authorization_pending"),
		portOAuthError(400, "authorization_pending"), f.tokenOK(t)))
	tok, err := f.begin(t).PollForToken(portCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.Equal(t, 3, f.fake.count("/oauth/device/token"))
	assert.Equal(t, []time.Duration{5 * time.Second, 5 * time.Second}, f.recordedSleeps(),
		"the interval starts at 5 s whatever the server says")
}

func TestDeviceCode_PollForTokenSlowDownThenSuccess(t *testing.T) {
	f := newPortDeviceFlow(t)
	f.fake.handle("/oauth/device/token", portScript(portOAuthError(400, "slow_down"), f.tokenOK(t)))
	_, err := f.begin(t).PollForToken(portCtx(t))
	require.NoError(t, err)
	assert.Equal(t, 2, f.fake.count("/oauth/device/token"))
	assert.Equal(t, []time.Duration{10 * time.Second}, f.recordedSleeps())
}

func TestDeviceCode_PollForTokenSlowDownIncreasesTheInterval(t *testing.T) {
	f := newPortDeviceFlow(t)
	f.fake.handle("/oauth/device/code", portDeviceCodeOK(12))
	f.fake.handle("/oauth/device/token", portOAuthError(400, "slow_down"))
	_, err := f.begin(t).PollForToken(portCtx(t))
	portRequireCode(t, err, CodeExpiredToken)
	assert.Equal(t, 2, f.fake.count("/oauth/device/token"), "polls at t=0 and t=10; t=25 is past the 12 s deadline")
	assert.Equal(t, []time.Duration{10 * time.Second, 15 * time.Second}, f.recordedSleeps(), "slow_down adds 5 s each time")
}

func TestDeviceCode_PollForTokenUnparseableErrorBodyIsServerError(t *testing.T) {
	f := newPortDeviceFlow(t)
	f.fake.handle("/oauth/device/token", func(w http.ResponseWriter, r *http.Request) { writeText(w, 500, "boom") })
	_, err := f.begin(t).PollForToken(portCtx(t))
	ae := portRequireCode(t, err, CodeServer)
	assert.Contains(t, ae.Error(), "500: unparseable error body")
}

func TestDeviceCode_PollingTwiceIsAlreadyConsumed(t *testing.T) {
	f := newPortDeviceFlow(t)
	p, _ := f.approvedPoll(t)
	_, err := p.PollForToken(portCtx(t))
	portRequireCode(t, err, CodeAlreadyConsumed)
	assert.Equal(t, 1, f.fake.count("/oauth/device/token"))
}

func TestDeviceCode_PersistenceFailureFailsTheCall(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notADir, []byte("x"), 0o600))
	f := newPortDeviceFlow(t, WithProfileDir(notADir))
	f.fake.handle("/oauth/device/token", f.tokenOK(t))
	_, err := f.begin(t).PollForToken(portCtx(t))
	portRequireCode(t, err, CodeStore)
}

func TestDeviceCode_PollForTokenWithoutWorkspaceClaimIsInvalidToken(t *testing.T) {
	f := newPortDeviceFlow(t)
	f.fake.handle("/oauth/device/token", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"access_token": "opaque", "token_type": "Bearer", "expires_in": 3600})
	})
	_, err := f.begin(t).PollForToken(portCtx(t))
	portRequireCode(t, err, CodeInvalidToken)
}

func TestDeviceCode_BaseURLWithPathKeepsItsPath(t *testing.T) {
	fake := newFakeCTS(t)
	fake.handle("/api/v1/oauth/device/code", portDeviceCodeOK(900))
	s, err := NewDeviceCodeStrategy(testRegion, CLIClientID, WithBaseURL(fake.URL+"/api/v1"), emptyEnv())
	require.NoError(t, err)
	_, err = s.Begin(portCtx(t))
	require.NoError(t, err)
	assert.Equal(t, 1, fake.count("/api/v1/oauth/device/code"))
}

func TestDeviceCode_PendingDeviceCodeDebugDoesNotLeak(t *testing.T) {
	f := newPortDeviceFlow(t)
	p := f.begin(t)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out := fmt.Sprintf(verb, p)
		assert.NotContainsf(t, out, portDeviceCode, "verb %s", verb)
		assert.NotContainsf(t, out, "device-code-secret", "verb %s", verb)
	}
	assert.Contains(t, fmt.Sprintf("%v", p), "ABCD-EFGH", "the user code is not a secret")
}

// The default every language's device flow gets (the C ABI sets it): the profile's
// device.json, created on first use and the same on the next login.
func TestDeviceCode_ProfileDeviceIdentityIsCreatedOnceAndSent(t *testing.T) {
	f := newPortDeviceFlow(t, WithProfileDeviceIdentity())
	f.begin(t)
	saved, err := profile.LoadOrCreateDeviceIdentity(profile.New(f.profileDir))
	require.NoError(t, err)
	require.NotEmpty(t, saved.DeviceInstanceID)
	form, err := url.ParseQuery(f.fake.body("/oauth/device/code", 0))
	require.NoError(t, err)
	assert.Equal(t, saved.DeviceInstanceID, form.Get("device_instance_id"))
	assert.Equal(t, saved.DeviceName, form.Get("device_name"))

	again := newPortDeviceFlow(t, WithProfileDir(f.profileDir), WithProfileDeviceIdentity())
	again.begin(t)
	form, err = url.ParseQuery(again.fake.body("/oauth/device/code", 0))
	require.NoError(t, err)
	assert.Equal(t, saved.DeviceInstanceID, form.Get("device_instance_id"))
}

func TestDeviceCode_AnExplicitDeviceIdentityWinsOverTheProfiles(t *testing.T) {
	f := newPortDeviceFlow(t, WithProfileDeviceIdentity(), WithDeviceIdentity(DeviceIdentity{DeviceInstanceID: "explicit-id", DeviceName: "mine"}))
	f.begin(t)
	assert.Equal(t, "client_id=cli&device_instance_id=explicit-id&device_name=mine", f.fake.body("/oauth/device/code", 0))
}

func TestPendingDeviceCodeJSONShowsWhatToApproveAndNeverTheDeviceCode(t *testing.T) {
	p := &PendingDeviceCode{UserCode: "ABCD-EFGH", VerificationURI: "https://cts.example.com/device",
		VerificationURIComplete: "https://cts.example.com/device?code=ABCD-EFGH", ExpiresIn: 900,
		deviceCode: NewSecretToken("sekrit-device-code")}
	data, err := json.Marshal(p)
	require.NoError(t, err)
	assert.JSONEq(t, `{"userCode":"ABCD-EFGH","verificationUri":"https://cts.example.com/device",
		"verificationUriComplete":"https://cts.example.com/device?code=ABCD-EFGH","expiresIn":900}`, string(data))
	assert.NotContains(t, string(data), "sekrit")
}
