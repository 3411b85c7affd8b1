package stackauth_test

// The engine against the emulator over real loopback HTTP: every strategy, each fault
// the emulator can inject with the engine's documented outcome, Flush, the scope of stored
// tokens, and where upstream 0.43 is right.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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

// codeOf is the code of err, "" for nil.
func codeOf(err error) string {
	if err == nil {
		return ""
	}
	return stackauth.AsAuthError(err).Code
}

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

// ---- Store scope: a store never hands one credential's token to another (docs/architecture.md
// D2, issue 12 item 3): every store kind is scoped by workspace, key id and audience. ----

// jwtClaim reads one claim of a token's (unverified) payload.
func jwtClaim(t *testing.T, tok stackauth.ServiceToken, name string) string {
	t.Helper()
	parts := strings.Split(tok.Token().Reveal(), ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, json.Unmarshal(raw, &c))
	s, _ := c[name].(string)
	return s
}

// oneSlotStore is an upstream-shaped host store: one slot, blind to scopes.
type oneSlotStore struct {
	mu   sync.Mutex
	json string
}

func (s *oneSlotStore) fn() *stackauth.TokenStoreFn {
	return stackauth.NewTokenStoreFn(
		func(context.Context) (string, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.json, nil },
		func(_ context.Context, j string) error { s.mu.Lock(); defer s.mu.Unlock(); s.json = j; return nil })
}

func TestStoresAreScopedPerCredential(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	otherKey, err := w.emu.NewAccessKey(w.emu.WorkspaceID())
	require.NoError(t, err)

	stores := map[string]func(t *testing.T) stackauth.TokenStore{
		"memory": func(*testing.T) stackauth.TokenStore { return stackauth.NewInMemoryTokenStore() },
		"file": func(t *testing.T) stackauth.TokenStore {
			s, err := stackauth.OpenStore("file://" + filepath.Join(t.TempDir(), "token.json"))
			require.NoError(t, err)
			// Before the folder goes: the save follows the callers' wake-up (docs/architecture.md D3).
			t.Cleanup(func() { require.NoError(t, stackauth.Flush(context.Background())) })
			return s
		},
		"TokenStoreFn": func(*testing.T) stackauth.TokenStore { return (&oneSlotStore{}).fn() },
	}
	type cred struct {
		key, audience string
	}
	pairs := map[string][2]cred{
		"other key":      {{w.emu.AccessKey(), ""}, {otherKey, ""}},
		"other audience": {{w.emu.AccessKey(), "aud-a"}, {w.emu.AccessKey(), "aud-b"}},
	}
	for storeName, newStore := range stores {
		for pairName, pair := range pairs {
			t.Run(storeName+"/"+pairName, func(t *testing.T) {
				store := newStore(t)
				w.emu.ClearRequests()
				get := func(c cred) stackauth.ServiceToken {
					s, err := stackauth.NewAccessKeyStrategy(w.emu.WorkspaceCRN(), c.key,
						w.opts(stackauth.WithStore(store), stackauth.WithAudience(c.audience))...)
					require.NoError(t, err)
					defer s.Close()
					tok, err := s.GetToken(context.Background())
					require.NoError(t, err)
					return tok
				}
				a := get(pair[0])
				b := get(pair[1])
				assert.Equal(t, 2, w.emu.RequestCount("/api/authorise"), "each credential makes its own request")
				assert.False(t, a.Token().Equal(b.Token()), "the second credential was served the first one's token")
				subA, _ := a.Subject()
				subB, _ := b.Subject()
				if pair[0].key != pair[1].key {
					assert.NotEqual(t, subA, subB)
				} else {
					assert.Equal(t, pair[0].audience, jwtClaim(t, a, "aud"))
					assert.Equal(t, pair[1].audience, jwtClaim(t, b, "aud"))
				}
			})
		}
	}
}

// A store that keys by the scope it is asked for shares each credential's token with a
// later strategy of the same credential, and only with it.
func TestScopeAwareStoresShareWithinAScope(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	var mu sync.Mutex
	slots := map[string]string{}
	var scopes []string
	fnStore := stackauth.NewTokenStoreFn(
		func(ctx context.Context) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			scopes = append(scopes, stackauth.StoreScope(ctx))
			return slots[stackauth.StoreScope(ctx)], nil
		},
		func(ctx context.Context, j string) error {
			mu.Lock()
			defer mu.Unlock()
			slots[stackauth.StoreScope(ctx)] = j
			return nil
		})
	file, err := stackauth.OpenStore("file://" + filepath.Join(t.TempDir(), "token.json"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, stackauth.Flush(context.Background())) }) // before the folder goes
	for name, store := range map[string]stackauth.TokenStore{
		"memory": stackauth.NewInMemoryTokenStore(), "file": file, "TokenStoreFn": fnStore,
	} {
		t.Run(name, func(t *testing.T) {
			w.emu.ClearRequests()
			get := func(audience string) stackauth.ServiceToken {
				s, err := stackauth.NewAccessKeyStrategy(w.emu.WorkspaceCRN(), w.emu.AccessKey(),
					w.opts(stackauth.WithStore(store), stackauth.WithAudience(audience))...)
				require.NoError(t, err)
				defer s.Close()
				tok, err := s.GetToken(context.Background())
				require.NoError(t, err)
				return tok
			}
			a, b := get("aud-a"), get("aud-b")
			a2, b2 := get("aud-a"), get("aud-b")
			assert.Equal(t, 2, w.emu.RequestCount("/api/authorise"), "later strategies load their own scope's token")
			assert.True(t, a.Token().Equal(a2.Token()))
			assert.True(t, b.Token().Equal(b2.Token()))
			assert.Equal(t, "aud-b", jwtClaim(t, b2, "aud"))
		})
	}
	require.NotEmpty(t, scopes)
	for _, s := range scopes {
		assert.Contains(t, s, w.emu.WorkspaceID(), "the scope names the workspace")
		assert.NotContains(t, s, strings.SplitN(w.emu.AccessKey(), ".", 2)[1], "the scope holds no secret")
	}
}

// A token saved without a scope (by an older version) or for another scope is a miss.
func TestAStoredTokenWithoutItsScopeIsAMiss(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	legacy := w.emu.MintAccessToken(w.emu.WorkspaceID(), "CS|CSAKlegacy", 10*time.Minute)
	raw, _ := json.Marshal(map[string]any{"access_token": legacy, "token_type": "Bearer",
		"expires_at": w.clock.Now().Unix() + 600})
	for name, scope := range map[string]string{"no scope": "", "another scope": "some/other/scope"} {
		t.Run(name, func(t *testing.T) {
			w.emu.ClearRequests()
			stored := string(raw)
			if scope != "" {
				stored = strings.TrimSuffix(stored, "}") + `,"store_scope":"` + scope + `"}`
			}
			store := stackauth.NewTokenStoreFn(func(context.Context) (string, error) { return stored, nil }, nil)
			s, err := stackauth.NewAccessKeyStrategy(w.emu.WorkspaceCRN(), w.emu.AccessKey(), w.opts(stackauth.WithStore(store))...)
			require.NoError(t, err)
			defer s.Close()
			tok, err := s.GetToken(context.Background())
			require.NoError(t, err)
			assert.False(t, tok.Token().Reveal() == legacy, "the unscoped token was served")
			assert.Equal(t, 1, w.emu.RequestCount("/api/authorise"))
		})
	}
}

// ---- Where upstream 0.43 is right and we differed (issue 13): CRNs and regions, token
// claims, message wording, and an empty provider JWT. ----

var upstreamRegions = []string{"ap-southeast-2.aws", "ca-central-1.aws", "eu-central-1.aws", "eu-west-1.aws",
	"us-east-1.aws", "us-east-2.aws", "us-west-1.aws", "us-west-2.aws"}

func TestOnlyUpstreamsRegionsAndServiceNamesBuildAStrategy(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	ws := w.emu.WorkspaceID()
	provider := func(context.Context) (stackauth.SecretToken, error) {
		return stackauth.NewSecretToken(fakeProviderJWT(`{"sub":"u"}`)), nil
	}
	for _, crn := range []string{
		"crn:ap-northeast-1.aws:" + ws,               // a real AWS region upstream does not serve
		"crn:ap-southeast-2.aws:" + ws + ":zero.kms", // a service name with a dot
		"crn:ap-southeast-2.aws:" + ws + ":zero kms",
		"crn:ap-southeast-2.gcp:" + ws,
	} {
		t.Run(crn, func(t *testing.T) {
			builds := map[string]func() (stackauth.AuthStrategy, error){
				"access key": func() (stackauth.AuthStrategy, error) {
					return stackauth.NewAccessKeyStrategy(crn, w.emu.AccessKey(), w.opts()...)
				},
				"oidc": func() (stackauth.AuthStrategy, error) {
					return stackauth.NewOidcFederationStrategy(crn, provider, w.opts()...)
				},
				"auto": func() (stackauth.AuthStrategy, error) {
					env := map[string]string{"CS_CLIENT_ACCESS_KEY": w.emu.AccessKey(), "CS_WORKSPACE_CRN": crn, "CS_CTS_HOST": w.emu.URL()}
					return stackauth.DetectAutoStrategy(stackauth.WithProfileDir(t.TempDir()),
						stackauth.WithLookupEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }))
				},
			}
			for name, build := range builds {
				s, err := build()
				if err == nil { // today: built, and the key goes to a server
					_, err = s.GetToken(context.Background())
					s.(interface{ Close() }).Close()
				}
				ae := stackauth.AsAuthError(err)
				require.NotNil(t, ae, name)
				assert.Equal(t, stackauth.CodeInvalidCrn, ae.Code, "%s: %v", name, err)
				for _, r := range upstreamRegions {
					assert.Contains(t, ae.Help, r, name)
				}
			}
			assert.Empty(t, w.emu.Requests(), "no request is sent")
		})
	}

	for _, r := range upstreamRegions {
		_, err := stackauth.ParseCrn("crn:" + r + ":" + ws + ":zero_kms-2")
		assert.NoError(t, err, r)
	}
	_, err := stackauth.NewDeviceCodeStrategy("ap-northeast-1.aws", stackauth.CLIClientID, w.opts()...)
	ae := stackauth.AsAuthError(err)
	require.NotNil(t, ae)
	assert.Equal(t, stackauth.CodeInvalidRegion, ae.Code)
	assert.Contains(t, ae.Help, "ca-central-1.aws")
	assert.Equal(t, upstreamRegions, sortedCopy(stackauth.KnownRegions))
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

// craftedJWT is a CTS-shaped token with the given claims; the client never checks signatures.
func craftedJWT(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	return fakeProviderJWT(string(b))
}

func ctsClaimsFor(w *world, workspace any) map[string]any {
	now := w.clock.Now().Unix()
	c := map[string]any{"iss": w.emu.URL(), "sub": "CS|CSAKtest", "aud": "a", "iat": now, "exp": now + 3600}
	if workspace != nil {
		c["workspace"] = workspace
	}
	return c
}

// serveToken makes the next /api/authorise answer 200 with the crafted token.
func serveToken(w *world, claims map[string]any) {
	body := fmt.Sprintf(`{"accessToken":%q,"expiry":%d}`, craftedJWT(claims), w.clock.Now().Unix()+3600)
	w.emu.InjectFault(emulator.Fault{Path: "/api/authorise", Status: 200, Body: body, Count: 1})
}

func TestTokenClaimsAreDecodedAllOrNothing(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, emulator.Config{})
	ws := w.emu.WorkspaceID()

	for name, edit := range map[string]func(map[string]any){
		"no iss":                func(c map[string]any) { delete(c, "iss") },
		"no sub":                func(c map[string]any) { delete(c, "sub") },
		"no workspace":          func(c map[string]any) { delete(c, "workspace") },
		"not a workspace id":    func(c map[string]any) { c["workspace"] = "not-a-workspace-id" },
		"a numeric workspace":   func(c map[string]any) { c["workspace"] = 42 },
		"an iss that is no URL": func(c map[string]any) { c["iss"] = "not a url" },
	} {
		t.Run(name, func(t *testing.T) {
			claims := ctsClaimsFor(w, ws)
			edit(claims)
			serveToken(w, claims)
			_, err := w.accessKey(t).GetToken(ctx)
			assert.Equal(t, stackauth.CodeInvalidToken, codeOf(err), "%v", err)

			st := stackauth.NewServiceToken(stackauth.NewSecretToken(craftedJWT(claims)))
			for accessor, get := range map[string]func() error{
				"subject":   func() error { _, err := st.Subject(); return err },
				"workspace": func() error { _, err := st.WorkspaceID(); return err },
				"issuer":    func() error { _, err := st.Issuer(); return err },
				"services":  func() error { _, err := st.Services(); return err },
			} {
				assert.Equal(t, stackauth.CodeInvalidToken, codeOf(get()), accessor)
			}
		})
	}

	t.Run("a legacy ws: prefix is read as the bare id", func(t *testing.T) {
		serveToken(w, ctsClaimsFor(w, "ws:"+ws))
		tok, err := w.accessKey(t).GetToken(ctx)
		require.NoError(t, err)
		got, err := tok.WorkspaceID()
		require.NoError(t, err)
		assert.Equal(t, ws, got)
	})

	t.Run("a device login whose token has a ws: prefix is saved under the bare id", func(t *testing.T) {
		dir := t.TempDir()
		w.emu.SetAutoApprove(true)
		claims := ctsClaimsFor(w, "ws:"+ws)
		body := fmt.Sprintf(`{"access_token":%q,"token_type":"Bearer","expires_in":3600,"refresh_token":"rt"}`, craftedJWT(claims))
		w.emu.InjectFault(emulator.Fault{Path: "/oauth/device/token", Status: 200, Body: body, Count: 1})
		dc, err := stackauth.NewDeviceCodeStrategy(w.emu.Region(), stackauth.CLIClientID, w.opts(stackauth.WithProfileDir(dir))...)
		require.NoError(t, err)
		pending, err := dc.Begin(ctx)
		require.NoError(t, err)
		_, err = pending.PollForToken(ctx)
		require.NoError(t, err)
		s, err := stackauth.DeviceSessionStrategyFromProfile(stackauth.WithClock(w.clock), stackauth.WithProfileDir(dir),
			stackauth.WithBaseURL(w.emu.URL()), stackauth.WithLookupEnv(func(string) (string, bool) { return "", false }))
		require.NoError(t, err)
		defer s.Close()
		crn, ok := s.WorkspaceCrn()
		require.True(t, ok)
		assert.Equal(t, w.emu.WorkspaceCRN(), crn.String())
	})
}

// login runs a device-code login against the emulator and returns the saved session.
func login(t *testing.T, w *world) *stackauth.Token {
	t.Helper()
	w.emu.SetAutoApprove(true)
	dc, err := stackauth.NewDeviceCodeStrategy(w.emu.Region(), stackauth.CLIClientID, w.opts(stackauth.WithProfileDir(t.TempDir()))...)
	require.NoError(t, err)
	pending, err := dc.Begin(context.Background())
	require.NoError(t, err)
	tok, err := pending.PollForToken(context.Background())
	require.NoError(t, err)
	return tok
}

func TestMessagesAreWordedAsUpstream043(t *testing.T) {
	ctx := context.Background()

	t.Run("a request failure", func(t *testing.T) {
		w := newWorld(t, emulator.Config{})
		w.emu.InjectFault(emulator.Fault{Path: "/api/authorise", Reset: true, Count: 1})
		_, err := w.accessKey(t).GetToken(ctx)
		require.Equal(t, stackauth.CodeRequest, codeOf(err))
		assert.True(t, strings.HasPrefix(err.Error(), "Request to the auth server failed: "), err.Error())
	})

	t.Run("an HTML error page from /oauth/token is summarised in one line", func(t *testing.T) {
		w := newWorld(t, emulator.Config{TokenTTL: 10 * time.Minute})
		tok := login(t, w)
		page := "<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n" +
			strings.Repeat("<p>padding</p>\n", 50) + "<hr><center>nginx</center>\n</body>\n</html>\n"
		w.emu.InjectFault(emulator.Fault{Path: "/oauth/token", Status: 502, Body: page, ContentType: "text/html", Count: 1})
		s, err := stackauth.NewDeviceSessionStrategy(w.emu.Region(), stackauth.CLIClientID, tok, w.opts()...)
		require.NoError(t, err)
		defer s.Close()
		w.clock.Advance(11 * time.Minute)
		_, err = s.GetToken(ctx)
		require.Equal(t, stackauth.CodeServer, codeOf(err), "%v", err)
		assert.Equal(t, `Server error: 502: unparseable error body: an HTML page titled "502 Bad Gateway"`, err.Error())
	})

	t.Run("the error JSON says whether retrying may help", func(t *testing.T) {
		for _, c := range []struct {
			err  *stackauth.AuthError
			want string
		}{
			{stackauth.NewServerError("503: x"), `"retryable":true`},
			{stackauth.NewRequestError("x"), `"retryable":true`},
			{stackauth.ErrInvalidGrant, `"retryable":false`},
			{stackauth.NewUsageLimitExceeded(""), `"retryable":false`},
			{stackauth.NewWorkspaceMismatch("AAAAAAAAAAAAAAAA", "ZVATKW3VHMFG27DY"), `"retryable":false`},
		} {
			data, err := c.err.MarshalJSON()
			require.NoError(t, err)
			assert.Contains(t, string(data), c.want, c.err.Code)
		}
	})
}

// A key the token service refuses says so, in one line, with what to check; the server's
// JSON body is not the message.
func TestRefusedAccessKeySaysTheKeyWasRefused(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	key := w.emu.AccessKey()
	id, _, _ := strings.Cut(key, ".")
	s, err := stackauth.NewAccessKeyStrategy(w.emu.WorkspaceCRN(), id+".wrongsecretwrongsecret", w.opts()...)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.GetToken(context.Background())
	ae := stackauth.AsAuthError(err)
	assert.Equal(t, stackauth.CodeServer, ae.Code, "upstream's code is kept")
	assert.Contains(t, ae.Message, "refused the access key")
	assert.Contains(t, ae.Message, "HTTP 401")
	assert.NotContains(t, ae.Message, "{", "not the raw JSON body")
	assert.NotContains(t, ae.Message, "wrongsecret")
	assert.Contains(t, ae.Help, "CS_CLIENT_ACCESS_KEY")
	assert.False(t, ae.Retryable(), "the same key will be refused again")
}

// A timeout says what timed out: the request to the token service, and after how long.
func TestTimeoutSaysWhatTimedOut(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	w.emu.InjectFault(emulator.Fault{Path: "/api/authorise", Delay: 2 * time.Second, Count: 1})
	s, err := stackauth.NewAccessKeyStrategy(w.emu.WorkspaceCRN(), w.emu.AccessKey(),
		w.opts(stackauth.WithRefreshTimeout(200*time.Millisecond))...)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.GetToken(context.Background())
	require.Error(t, err)
	msg := stackauth.AsAuthError(err).Message
	assert.NotContains(t, msg, "context deadline exceeded")
	assert.Contains(t, msg, "timed out")
	assert.Contains(t, msg, "api/authorise")
}

// As upstream, an OIDC provider's empty JWT is sent and the server's answer reported.
func TestAnEmptyProviderJWTIsSentAndTheServersAnswerReported(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	s, err := stackauth.NewOidcFederationStrategy(w.emu.WorkspaceCRN(),
		func(context.Context) (stackauth.SecretToken, error) { return stackauth.NewSecretToken(""), nil }, w.opts()...)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.GetToken(context.Background())
	assert.Equal(t, stackauth.CodeServer, codeOf(err), "%v", err)
	reqs := w.emu.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/api/authorise", reqs[0].Path)
	assert.Equal(t, []string{"oidcToken", "workspaceId"}, reqs[0].Keys)

	// A caller's empty JWT (what a binding passes on from its provider) takes the same path.
	s2, err := stackauth.NewOidcFederationStrategy(w.emu.WorkspaceCRN(), stackauth.NoOidcProvider, w.opts()...)
	require.NoError(t, err)
	defer s2.Close()
	_, err = s2.GetTokenForJWT(context.Background(), stackauth.NewSecretToken(""))
	assert.Equal(t, stackauth.CodeServer, codeOf(err), "%v", err)
	reqs = w.emu.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "/api/authorise", reqs[1].Path)
	assert.Equal(t, []string{"oidcToken", "workspaceId"}, reqs[1].Keys)
}
