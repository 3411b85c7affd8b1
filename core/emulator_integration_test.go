package stackauth_test

// The engine against the emulator over real loopback HTTP: every strategy, each fault
// the emulator can inject with the engine's documented outcome, and Flush.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	stackauth "github.com/stackauth/stack-auth/core"
	"github.com/stackauth/stack-auth/emulator"
)

// world is an emulator and a clock shared by it and the strategies under test.
type world struct {
	emu   *emulator.Server
	clock *stackauth.ManualClock
}

func newWorld(t *testing.T, cfg emulator.Config) *world {
	t.Helper()
	w := &world{clock: stackauth.NewManualClock(time.Now())}
	cfg.Addr, cfg.Now = "127.0.0.1:0", w.clock.Now
	emu, err := emulator.New(cfg)
	require.NoError(t, err)
	require.NoError(t, emu.Start())
	t.Cleanup(func() { _ = emu.Close() })
	w.emu = emu
	return w
}

// opts point a strategy at the emulator, with no ambient CS_* variables.
func (w *world) opts(extra ...stackauth.Option) []stackauth.Option {
	return append([]stackauth.Option{stackauth.WithBaseURL(w.emu.URL()), stackauth.WithClock(w.clock),
		stackauth.WithLookupEnv(func(string) (string, bool) { return "", false })}, extra...)
}

func (w *world) accessKey(t *testing.T, extra ...stackauth.Option) *stackauth.AccessKeyStrategy {
	t.Helper()
	s, err := stackauth.NewAccessKeyStrategy(w.emu.WorkspaceCRN(), w.emu.AccessKey(), w.opts(extra...)...)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

func codeOf(err error) string { return stackauth.AsAuthError(err).Code }

func TestEveryStrategyAgainstTheEmulator(t *testing.T) {
	w := newWorld(t, emulator.Config{AutoApprove: true})
	ctx := context.Background()

	t.Run("access key", func(t *testing.T) {
		tok, err := w.accessKey(t).GetToken(ctx)
		require.NoError(t, err)
		ws, _ := tok.WorkspaceID()
		sub, _ := tok.Subject()
		assert.Equal(t, w.emu.WorkspaceID(), ws)
		assert.Regexp(t, `^CS\|CSAK`, sub)
		zk, err := tok.ZeroKMSURL()
		require.NoError(t, err)
		assert.Equal(t, w.emu.ZeroKMSURL(), zk.String())
	})

	t.Run("auto strategy from the environment", func(t *testing.T) {
		env := map[string]string{"CS_CLIENT_ACCESS_KEY": w.emu.AccessKey(), "CS_WORKSPACE_CRN": w.emu.WorkspaceCRN(), "CS_CTS_HOST": w.emu.URL()}
		s, err := stackauth.DetectAutoStrategy(stackauth.WithClock(w.clock), stackauth.WithProfileDir(t.TempDir()),
			stackauth.WithLookupEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }))
		require.NoError(t, err)
		defer s.Close()
		assert.Equal(t, stackauth.SourceAccessKey, s.Source)
		_, err = s.GetToken(ctx)
		require.NoError(t, err)
	})

	t.Run("device code login, then the saved session, refreshed and rotated", func(t *testing.T) {
		dir := t.TempDir()
		dc, err := stackauth.NewDeviceCodeStrategy(w.emu.Region(), stackauth.CLIClientID, w.opts(stackauth.WithProfileDir(dir),
			stackauth.WithDeviceIdentity(stackauth.DeviceIdentity{DeviceInstanceID: "3f1c8c2e-4b1f-4c55-9d0a-0b6b0f5b9a11", DeviceName: "test-host"}))...)
		require.NoError(t, err)
		pending, err := dc.Begin(ctx)
		require.NoError(t, err)
		login, err := pending.PollForToken(ctx)
		require.NoError(t, err)
		assert.False(t, login.RefreshToken.IsEmpty())

		// From the profile, with no base URL: the CTS is found through the token's iss.
		s, err := stackauth.DeviceSessionStrategyFromProfile(stackauth.WithClock(w.clock), stackauth.WithProfileDir(dir),
			stackauth.WithLookupEnv(func(string) (string, bool) { return "", false }))
		require.NoError(t, err)
		defer s.Close()
		first, err := s.GetToken(ctx)
		require.NoError(t, err)
		assert.Equal(t, login.AccessToken.Reveal(), first.Token().Reveal())

		require.True(t, s.Invalidate(first.Token()))
		second, err := s.GetToken(ctx)
		require.NoError(t, err)
		assert.NotEqual(t, first.Token().Reveal(), second.Token().Reveal())
		disk := readSession(t, filepath.Join(dir, "workspaces", w.emu.WorkspaceID(), "auth.json"))
		assert.NotEqual(t, login.RefreshToken.Reveal(), disk["refresh_token"], "the rotated refresh token was saved")
		assert.Equal(t, "3f1c8c2e-4b1f-4c55-9d0a-0b6b0f5b9a11", disk["device_instance_id"])

		auto, err := stackauth.DetectAutoStrategy(stackauth.WithClock(w.clock), stackauth.WithProfileDir(dir),
			stackauth.WithLookupEnv(func(string) (string, bool) { return "", false }))
		require.NoError(t, err)
		defer auto.Close()
		assert.Equal(t, stackauth.SourceDeviceSession, auto.Source)

		require.NoError(t, stackauth.BindClientDevice(ctx, stackauth.WithProfileDir(dir)))
		info, err := os.Stat(filepath.Join(dir, "workspaces", w.emu.WorkspaceID(), "secretkey.json"))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	})

	t.Run("OIDC federation", func(t *testing.T) {
		jwt := fakeProviderJWT(`{"sub":"auth0|user123","iss":"https://idp.example.com/"}`)
		s, err := stackauth.NewOidcFederationStrategy(w.emu.WorkspaceCRN(),
			func(context.Context) (stackauth.SecretToken, error) { return stackauth.NewSecretToken(jwt), nil }, w.opts()...)
		require.NoError(t, err)
		tok, err := s.GetToken(ctx)
		require.NoError(t, err)
		sub, _ := tok.Subject()
		assert.Equal(t, "CS|auth0|user123", sub)
	})

	t.Run("a key of another workspace is a workspace mismatch", func(t *testing.T) {
		other := w.emu.NewWorkspace()
		key, err := w.emu.NewAccessKey(other)
		require.NoError(t, err)
		s, err := stackauth.NewAccessKeyStrategy(w.emu.WorkspaceCRN(), key, w.opts()...)
		require.NoError(t, err)
		defer s.Close()
		_, err = s.GetToken(ctx)
		var ae *stackauth.AuthError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, stackauth.CodeWorkspaceMismatch, ae.Code)
		assert.Equal(t, map[string]any{"expected": w.emu.WorkspaceID(), "actual": other}, ae.Payload)
	})
}

func fakeProviderJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc([]byte(claims)) + "." + enc([]byte("signature"))
}

// Invalidate works for every caching strategy (issue 12 item 4): on an OIDC strategy it
// drops the token of the JWT it was minted for, and only that one.
func TestOidcInvalidateRefreshesThatJWTsToken(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	var mu sync.Mutex
	current := ""
	as := func(jwt string) { mu.Lock(); current = jwt; mu.Unlock() }
	s, err := stackauth.NewOidcFederationStrategy(w.emu.WorkspaceCRN(), func(context.Context) (stackauth.SecretToken, error) {
		mu.Lock()
		defer mu.Unlock()
		return stackauth.NewSecretToken(current), nil
	}, w.opts()...)
	require.NoError(t, err)
	defer s.Close()
	get := func(jwt string) stackauth.ServiceToken {
		as(jwt)
		tok, err := s.GetToken(context.Background())
		require.NoError(t, err)
		return tok
	}
	alice := fakeProviderJWT(`{"sub":"auth0|alice","iss":"https://idp.example.com/"}`)
	bob := fakeProviderJWT(`{"sub":"auth0|bob","iss":"https://idp.example.com/"}`)
	w.emu.ClearRequests()
	a1, b1 := get(alice), get(bob)
	require.Equal(t, 2, w.emu.RequestCount("/api/authorise"))

	inv, ok := any(s).(interface {
		Invalidate(stackauth.SecretToken) bool
	})
	require.True(t, ok, "an OIDC strategy can invalidate a token")
	assert.True(t, inv.Invalidate(a1.Token()), "alice's current token was rejected")

	a2 := get(alice)
	assert.False(t, a1.Token().Equal(a2.Token()), "the rejected token is not served again")
	sub, _ := a2.Subject()
	assert.Equal(t, "CS|auth0|alice", sub)
	assert.True(t, b1.Token().Equal(get(bob).Token()), "bob's token is untouched")
	assert.Equal(t, 3, w.emu.RequestCount("/api/authorise"))

	assert.False(t, inv.Invalidate(a1.Token()), "a late 401 for a replaced token changes nothing")
	assert.False(t, inv.Invalidate(stackauth.NewSecretToken("never-issued")))
	assert.True(t, a2.Token().Equal(get(alice).Token()))
	assert.Equal(t, 3, w.emu.RequestCount("/api/authorise"))
}

func TestEmulatorFaultsAndTheEngineOutcome(t *testing.T) {
	ctx := context.Background()

	t.Run("a 5xx is a retryable SERVER_ERROR and is not remembered", func(t *testing.T) {
		w := newWorld(t, emulator.Config{})
		w.emu.InjectFault(emulator.Fault{Path: "/api/authorise", Status: 503, Body: "maintenance", Count: 1})
		s := w.accessKey(t)
		_, err := s.GetToken(ctx)
		assert.Equal(t, stackauth.CodeServer, codeOf(err))
		assert.Equal(t, "Server error: 503: maintenance", err.Error())
		assert.True(t, stackauth.AsAuthError(err).Retryable())
		_, err = s.GetToken(ctx)
		require.NoError(t, err)
		assert.Equal(t, 2, w.emu.RequestCount("/api/authorise"))
	})

	t.Run("a delay past the request timeout is a REQUEST_ERROR", func(t *testing.T) {
		w := newWorld(t, emulator.Config{})
		w.emu.InjectFault(emulator.Fault{Path: "/api/authorise", Delay: time.Minute, Count: 1})
		s := w.accessKey(t, stackauth.WithHTTPClient(&http.Client{Timeout: 300 * time.Millisecond}))
		_, err := s.GetToken(ctx)
		assert.Equal(t, stackauth.CodeRequest, codeOf(err))
		assert.True(t, stackauth.AsAuthError(err).Retryable())
		_, err = s.GetToken(ctx) // the fault was used up: the next call succeeds
		require.NoError(t, err)
	})

	t.Run("a connection reset is a REQUEST_ERROR", func(t *testing.T) {
		w := newWorld(t, emulator.Config{})
		w.emu.InjectFault(emulator.Fault{Path: "/api/authorise", Reset: true, Count: 1})
		_, err := w.accessKey(t).GetToken(ctx)
		assert.Equal(t, stackauth.CodeRequest, codeOf(err))
	})

	t.Run("402 is a remembered USAGE_LIMIT_EXCEEDED; ORG_NOT_PROVISIONED keeps its code", func(t *testing.T) {
		w := newWorld(t, emulator.Config{})
		require.NoError(t, w.emu.SetUsageLimit(w.emu.WorkspaceID(), emulator.CodeUsageLimitExceeded))
		s := w.accessKey(t)
		for range 3 {
			_, err := s.GetToken(ctx)
			assert.Equal(t, stackauth.CodeUsageLimitExceeded, codeOf(err))
			assert.Equal(t, "https://dashboard.cipherstash.com/billing", stackauth.AsAuthError(err).URL)
		}
		assert.Equal(t, 1, w.emu.RequestCount("/api/authorise"), "remembered for 60 s")

		require.NoError(t, w.emu.SetUsageLimit(w.emu.WorkspaceID(), emulator.CodeOrgNotProvisioned))
		w.clock.Advance(stackauth.DenialTTL)
		_, err := s.GetToken(ctx)
		assert.Equal(t, stackauth.CodeOrgNotProvisioned, codeOf(err))

		require.NoError(t, w.emu.SetUsageLimit(w.emu.WorkspaceID(), ""))
		w.clock.Advance(stackauth.DenialTTL)
		_, err = s.GetToken(ctx)
		require.NoError(t, err, "an upgraded plan is seen once the refusal expires")
	})

	t.Run("a stale token is served while the emulator is down", func(t *testing.T) {
		w := newWorld(t, emulator.Config{TokenTTL: 10 * time.Minute})
		failed := make(chan stackauth.Event, 4)
		s := w.accessKey(t, stackauth.WithEvents(func(ev stackauth.Event) {
			if ev.Kind == stackauth.RefreshFailed {
				failed <- ev
			}
		}))
		first, err := s.GetToken(ctx)
		require.NoError(t, err)
		w.emu.InjectFault(emulator.Fault{Path: "/api/authorise", Reset: true})
		w.clock.Advance(10*time.Minute - time.Minute) // inside the refresh window
		again, err := s.GetToken(ctx)
		require.NoError(t, err)
		assert.Equal(t, first.Token().Reveal(), again.Token().Reveal())
		ev := <-failed
		assert.Equal(t, stackauth.ReasonStale, ev.Reason)
		assert.Equal(t, stackauth.CodeRequest, ev.ErrorCode)
	})

	t.Run("a replayed refresh token revokes the whole chain", func(t *testing.T) {
		w := newWorld(t, emulator.Config{AutoApprove: true, TokenTTL: 10 * time.Minute})
		dc, err := stackauth.NewDeviceCodeStrategy(w.emu.Region(), stackauth.CLIClientID, w.opts(stackauth.WithProfileDir(t.TempDir()))...)
		require.NoError(t, err)
		pending, err := dc.Begin(ctx)
		require.NoError(t, err)
		login, err := pending.PollForToken(ctx)
		require.NoError(t, err)

		// Two in-memory sessions hold the same refresh token: no profile lock between them.
		a, err := stackauth.NewDeviceSessionStrategy(w.emu.Region(), stackauth.CLIClientID, login, w.opts()...)
		require.NoError(t, err)
		defer a.Close()
		b, err := stackauth.NewDeviceSessionStrategy(w.emu.Region(), stackauth.CLIClientID, login, w.opts()...)
		require.NoError(t, err)
		defer b.Close()
		w.clock.Advance(11 * time.Minute)
		_, err = a.GetToken(ctx)
		require.NoError(t, err, "the first redemption rotates the refresh token")
		_, err = b.GetToken(ctx)
		assert.True(t, errors.Is(err, stackauth.ErrInvalidGrant), "the replay is refused: %v", err)
		w.clock.Advance(11 * time.Minute)
		_, err = a.GetToken(ctx)
		assert.True(t, errors.Is(err, stackauth.ErrInvalidGrant), "and the whole chain is revoked: %v", err)
	})
}

// ---- Flush (docs/architecture.md D1): a credential exchange that may have reached the server
// is finished and saved whatever the host does next; Flush waits for it. ----

// loginToEmulator runs the device-code login into a new profile directory and returns it
// with the path of the session it saved.
func loginToEmulator(t *testing.T, w *world) (dir, authPath string) {
	t.Helper()
	dir = t.TempDir()
	dc, err := stackauth.NewDeviceCodeStrategy(w.emu.Region(), stackauth.CLIClientID, w.opts(stackauth.WithProfileDir(dir))...)
	require.NoError(t, err)
	pending, err := dc.Begin(context.Background())
	require.NoError(t, err)
	_, err = pending.PollForToken(context.Background())
	require.NoError(t, err)
	return dir, filepath.Join(dir, "workspaces", w.emu.WorkspaceID(), "auth.json")
}

// readSession returns auth.json's fields.
func readSession(t *testing.T, authPath string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(authPath)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	return m
}

// expireSession marks the saved session's access token expired, so the next use refreshes.
func expireSession(t *testing.T, authPath string, now time.Time) {
	t.Helper()
	m := readSession(t, authPath)
	m["expires_at"] = now.Add(-time.Minute).Unix()
	data, err := json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(authPath, data, 0o600))
}

func TestClosingMidRefreshStillSavesTheRotatedRefreshToken(t *testing.T) {
	w := newWorld(t, emulator.Config{AutoApprove: true})
	dir, authPath := loginToEmulator(t, w)
	expireSession(t, authPath, w.clock.Now())
	spent := readSession(t, authPath)["refresh_token"]
	// The server rotates the refresh token at once but answers 700 ms later.
	w.emu.InjectFault(emulator.Fault{Path: "/oauth/token", DelayAfter: 700 * time.Millisecond, Count: 1})

	s, err := stackauth.DeviceSessionStrategyFromProfile(w.opts(stackauth.WithProfileDir(dir))...)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err = s.GetToken(ctx)
	cancel()
	require.Error(t, err, "the caller gave up before the answer came")
	s.Close() // returns at once; the exchange goes on

	flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, stackauth.Flush(flushCtx))
	saved := readSession(t, authPath)
	assert.True(t, saved["refresh_token"] != spent, "the rotated refresh token was saved") // never print it
	assert.Equal(t, 1, w.emu.RequestCount("/oauth/token"))

	// The next run starts from the saved session: no INVALID_GRANT, no new login.
	next, err := stackauth.DeviceSessionStrategyFromProfile(w.opts(stackauth.WithProfileDir(dir))...)
	require.NoError(t, err)
	defer next.Close()
	_, err = next.GetToken(context.Background())
	require.NoError(t, err)
}

func TestFlushReturnsAtOnceWhenNothingIsPending(t *testing.T) {
	settle, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, stackauth.Flush(settle)) // what earlier tests left in flight
	ended, cancel := context.WithCancel(context.Background())
	cancel() // even an ended context: nothing to wait for is not a failure
	assert.NoError(t, stackauth.Flush(ended))
}
