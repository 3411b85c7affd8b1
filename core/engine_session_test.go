package stackauth

// The device session: the refresh engine with the device-session refresher (upstream's
// auto_refresh.rs and device_session_refresher.rs, docs/upstream.md 10.7, 10.8), and the
// device-code login that starts it (10.12).

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

// sessionToken is a device-session token for testWS expiring expiresIn from clock's now.
func sessionToken(t *testing.T, clock Clock, expiresIn time.Duration, refreshToken string) *Token {
	exp := clock.Now().Add(expiresIn).Unix()
	tok := &Token{AccessToken: NewSecretToken(makeJWT(t, ctsClaims(testWS, exp))), TokenType: "Bearer",
		ExpiresAt: uint64(exp), Region: testRegion, ClientID: CLIClientID}
	if refreshToken != "" {
		tok.RefreshToken = NewSecretToken(refreshToken)
	}
	return tok
}

func newTestSession(t *testing.T, f *fakeCTS, clock Clock, tok *Token, opts ...Option) *DeviceSessionStrategy {
	t.Helper()
	base := []Option{WithBaseURL(f.URL), WithClock(clock), emptyEnv(), WithRand(func() float64 { return 0 })}
	s, err := NewDeviceSessionStrategy(testRegion, CLIClientID, tok, append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// expiredSession is a device session whose token expired a minute ago, holding the refresh
// token rt ("" for none), against a fresh token service and manual clock. Building it sends
// nothing, so a test sets the service's answers afterwards.
func expiredSession(t *testing.T, rt string) (*fakeCTS, *ManualClock, *DeviceSessionStrategy) {
	t.Helper()
	clock := testClock()
	f := newFakeCTS(t)
	return f, clock, newTestSession(t, f, clock, sessionToken(t, clock, -time.Minute, rt))
}

// refreshingCTS is a token service on a fresh manual clock whose refreshes issue hour-long
// tokens with the refresh token newRT.
func refreshingCTS(t *testing.T, newRT string) (*fakeCTS, *ManualClock) {
	clock := testClock()
	f := newFakeCTS(t)
	f.handle("/oauth/token", refreshOK(t, clock, newRT, time.Hour))
	return f, clock
}

// writeProfile lays out a profile directory holding tok as the current workspace's session.
func writeProfile(t *testing.T, dir string, tok *Token) *profile.Store {
	t.Helper()
	ws, err := profile.New(dir).InitWorkspace(testWS)
	require.NoError(t, err)
	require.NoError(t, saveTokenFile(ws, tok))
	return ws
}

func newProfileSession(t *testing.T, f *fakeCTS, clock Clock, dir string, opts ...Option) *DeviceSessionStrategy {
	t.Helper()
	base := []Option{WithBaseURL(f.URL), WithClock(clock), emptyEnv(), WithProfileDir(dir)}
	s, err := DeviceSessionStrategyFromProfile(append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

func invalidGrant(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 400, map[string]any{"error": "invalid_grant", "error_description": "revoked"})
}

func TestSessionEngineMapsErrorsToPublicCodes(t *testing.T) {
	// No token and nothing to authenticate with: NOT_AUTHENTICATED (upstream's NotFound).
	o := buildOptions([]Option{emptyEnv()})
	e := newEngine(&sessionRefresher{}, nil, nil, o)
	defer e.Close()
	_, err := e.GetToken(context.Background())
	assert.ErrorIs(t, err, ErrNotAuthenticated)
}

// countingStore counts loads, to prove when the engine consults the store.
type countingStore struct {
	TokenStore
	mu    sync.Mutex
	loads int
}

func (c *countingStore) Load(ctx context.Context) (*Token, error) {
	c.mu.Lock()
	c.loads++
	c.mu.Unlock()
	return c.TokenStore.Load(ctx)
}

func TestFreshStickyDenialDoesNotReHitTheStore(t *testing.T) {
	f := newFakeCTS(t)
	f.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) { writeText(w, 402, "") })
	store := &countingStore{TokenStore: NewInMemoryTokenStore()}
	s := newTestAccessKeyStrategy(t, f, testClock(), WithStore(store))
	for range 2 {
		_, err := s.GetToken(context.Background())
		assert.ErrorIs(t, err, ErrUsageLimitExceeded)
	}
	assert.Equal(t, 1, store.loads)
	assert.Equal(t, 1, f.count("/api/authorise"))
}

func TestSessionGivenAFreshToken(t *testing.T) {
	clock := testClock()
	f := newFakeCTS(t)
	dir := t.TempDir()
	tok := sessionToken(t, clock, time.Hour, "rt")
	ws := writeProfile(t, dir, tok)
	s := newProfileSession(t, f, clock, dir)

	assert.Equal(t, tok.AccessToken.Reveal(), mustToken(t, s))
	require.NoError(t, ws.Clear(authFile)) // cached across calls: the file is not re-read
	assert.Equal(t, tok.AccessToken.Reveal(), mustToken(t, s))
	assert.Equal(t, 0, f.count("/oauth/token"))
}

func TestSessionFullyExpiredWithoutRefreshTokenIsExpired(t *testing.T) {
	f, _, s := expiredSession(t, "")
	_, err := s.GetToken(context.Background())
	assert.ErrorIs(t, err, ErrTokenExpired)
	assert.Equal(t, 0, f.count("/oauth/token"))
}

// One state, one answer: TryGetToken used to say "would block" where GetToken answers
// EXPIRED_TOKEN at once (nothing can refresh the token, so there is nothing to wait for).
func TestSessionFullyExpiredWithoutRefreshTokenIsExpiredWithoutWaiting(t *testing.T) {
	f, _, s := expiredSession(t, "")
	_, err, ready := s.TryGetToken()
	assert.True(t, ready)
	assert.ErrorIs(t, err, ErrTokenExpired)
	assert.Equal(t, 0, f.count("/oauth/token"))
}

func TestSessionFullyExpiredWithRefreshToken(t *testing.T) {
	t.Run("refreshes, returns and persists the new token", func(t *testing.T) {
		f, clock := refreshingCTS(t, "rt-2")
		dir := t.TempDir()
		old := sessionToken(t, clock, -time.Minute, "rt-1")
		old.DeviceInstanceID = "device-7"
		ws := writeProfile(t, dir, old)
		s := newProfileSession(t, f, clock, dir)

		got := mustToken(t, s)
		assert.NotEqual(t, old.AccessToken.Reveal(), got)
		assert.Equal(t, "grant_type=refresh_token&client_id=cli&refresh_token=rt-1&device_instance_id=device-7", f.body("/oauth/token", 0))
		disk, err := loadTokenFile(ws)
		require.NoError(t, err)
		assert.Equal(t, got, disk.AccessToken.Reveal())
		assert.Equal(t, "rt-2", disk.RefreshToken.Reveal())
		assert.Equal(t, testRegion, disk.Region)
		assert.Equal(t, CLIClientID, disk.ClientID)
		assert.Equal(t, "device-7", disk.DeviceInstanceID)
		info, err := os.Stat(filepath.Join(ws.Dir(), authFile))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

		mustToken(t, s) // sequential calls only refresh once
		assert.Equal(t, 1, f.count("/oauth/token"))
	})
	t.Run("returns the server's refusal and keeps the refresh token for a retry", func(t *testing.T) {
		f, clock, s := expiredSession(t, "rt-1")
		f.handle("/oauth/token", invalidGrant)
		_, err := s.GetToken(context.Background())
		assert.ErrorIs(t, err, ErrInvalidGrant)

		f.handle("/oauth/token", refreshOK(t, clock, "rt-2", time.Hour))
		mustToken(t, s)
		assert.Equal(t, 2, f.count("/oauth/token"))
		assert.Contains(t, f.body("/oauth/token", 1), "refresh_token=rt-1")
	})
}

func TestSessionExpiringButUsableWhenRefreshFails(t *testing.T) {
	clock := testClock()
	f := newFakeCTS(t)
	f.handle("/oauth/token", func(w http.ResponseWriter, r *http.Request) { writeText(w, 400, `{"error":"server_error"}`) })
	events := newEventLog()
	tok := sessionToken(t, clock, 30*time.Second, "rt-1")
	s := newTestSession(t, f, clock, tok, WithEvents(events.hook))

	assert.Equal(t, tok.AccessToken.Reveal(), mustToken(t, s), "the current token is returned")
	events.waitFor(t, RefreshFailed)
	clock.Advance(backoffBase) // past the first, jittered backoff
	f.handle("/oauth/token", refreshOK(t, clock, "rt-2", time.Hour))
	assert.Equal(t, tok.AccessToken.Reveal(), mustToken(t, s))
	events.waitFor(t, RefreshSucceeded)
	assert.Contains(t, f.body("/oauth/token", 1), "refresh_token=rt-1", "the refresh token was restored")
}

// Upstream: when the refreshed token cannot be saved, the spent refresh token is dropped
// (replaying it would revoke the chain). Here the caller of a stale token is never made to
// wait, so it gets the still-usable token; the spent credential is never used again.
func TestARefreshedTokenThatCannotBeSavedSpendsTheCredential(t *testing.T) {
	breakAuthFile := func(t *testing.T, ws *profile.Store) {
		path := filepath.Join(ws.Dir(), authFile)
		require.NoError(t, os.Remove(path))
		require.NoError(t, os.MkdirAll(filepath.Join(path, "blocker"), 0o700))
	}
	t.Run("expired token: the call fails with STORE_ERROR", func(t *testing.T) {
		f, clock := refreshingCTS(t, "rt-2")
		dir := t.TempDir()
		ws := writeProfile(t, dir, sessionToken(t, clock, -time.Minute, "rt-1"))
		s := newProfileSession(t, f, clock, dir)
		breakAuthFile(t, ws)
		_, err := s.GetToken(context.Background())
		assert.ErrorIs(t, err, ErrStore)
		_, err = s.GetToken(context.Background())
		assert.ErrorIs(t, err, ErrTokenExpired)
		assert.Equal(t, 1, f.count("/oauth/token"))
	})
	t.Run("expiring token: served until expiry, never refreshed again", func(t *testing.T) {
		f, clock := refreshingCTS(t, "rt-2")
		dir := t.TempDir()
		tok := sessionToken(t, clock, 30*time.Second, "rt-1")
		ws := writeProfile(t, dir, tok)
		events := newEventLog()
		s := newProfileSession(t, f, clock, dir, WithEvents(events.hook))
		breakAuthFile(t, ws)
		assert.Equal(t, tok.AccessToken.Reveal(), mustToken(t, s))
		assert.Equal(t, CodeStore, events.waitFor(t, RefreshFailed).ErrorCode)
		clock.Advance(backoffBase) // past the backoff: still nothing to refresh with
		assert.Equal(t, tok.AccessToken.Reveal(), mustToken(t, s))
		clock.Advance(time.Minute)
		_, err := s.GetToken(context.Background())
		assert.ErrorIs(t, err, ErrTokenExpired)
		assert.Equal(t, 1, f.count("/oauth/token"))
	})
}

func TestSessionStressAllCallersGetTheRefusalThenRetrySucceeds(t *testing.T) {
	f, clock, s := expiredSession(t, "rt-1")
	g := newGate()
	f.handle("/oauth/token", g.wrap(invalidGrant))

	const callers = 50
	errs := make(chan error, callers)
	for range callers {
		go func() { _, err := s.GetToken(context.Background()); errs <- err }()
	}
	<-g.arrived
	close(g.release)
	for range callers {
		assert.ErrorIs(t, <-errs, ErrInvalidGrant)
	}
	assert.Equal(t, 1, f.count("/oauth/token"))
	assert.Equal(t, 1, f.peakConcurrency())

	// Second wave: the refresh token was kept, one request serves everyone.
	f.handle("/oauth/token", refreshOK(t, clock, "rt-2", time.Hour))
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() { _, err := s.GetToken(context.Background()); assert.NoError(t, err) })
	}
	wg.Wait()
	assert.Equal(t, 2, f.count("/oauth/token"))
}

// holdRefresh makes f's refreshes (to rt-2, an hour) wait at a new gate, and returns it.
func holdRefresh(t *testing.T, f *fakeCTS, clock Clock) *gate {
	g := newGate()
	f.handle("/oauth/token", g.wrap(refreshOK(t, clock, "rt-2", time.Hour)))
	return g
}

func TestBlockedCallersRecoverAfterTheirContextsEnd(t *testing.T) {
	f, clock, s := expiredSession(t, "rt-1")
	g := holdRefresh(t, f, clock)

	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 10)
	for range 10 {
		go func() { _, err := s.GetToken(ctx); errs <- err }()
	}
	<-g.arrived
	cancel()
	for range 10 {
		assert.ErrorIs(t, <-errs, context.Canceled)
	}
	close(g.release)
	mustToken(t, s) // the refresh went on without them
	assert.Equal(t, 1, f.count("/oauth/token"))
}

// expiry_crossing_regression: the token crosses its real expiry while a background
// refresh is in flight; callers that then find no usable token wait for that refresh.
func TestWaitersWhenTheTokenCrossesExpiryDuringARefresh(t *testing.T) {
	cases := []struct {
		name    string
		handler func(clock Clock) http.HandlerFunc
		wantErr error
	}{
		{"they get the refreshed token", func(clock Clock) http.HandlerFunc { return refreshOK(t, clock, "rt-2", time.Hour) }, nil},
		{"they get the issuer's error", func(Clock) http.HandlerFunc { return invalidGrant }, ErrInvalidGrant},
		{"they get the usage limit", func(Clock) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { writeText(w, 402, "") }
		}, ErrUsageLimitExceeded},
		{"they get the server fault", func(Clock) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { writeText(w, 503, "not json") }
		}, ErrServer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewManualClock(time.Unix(1_000_000, 0))
			f := newFakeCTS(t)
			g := newGate()
			f.handle("/oauth/token", g.wrap(tc.handler(clock)))
			old := sessionToken(t, clock, 10*time.Second, "rt-1")
			s := newTestSession(t, f, clock, old)

			assert.Equal(t, old.AccessToken.Reveal(), mustToken(t, s), "the first caller gets the old token")
			<-g.arrived
			clock.Advance(20 * time.Second)
			const waiters = 8
			type result struct {
				tok string
				err error
			}
			results := make(chan result, waiters)
			parked := parkedCounter(s.Engine)
			for range waiters {
				go func() {
					tok, err := s.GetToken(context.Background())
					results <- result{tok.Token().Reveal(), err}
				}()
			}
			// Wait until every waiter is parked on the flight before releasing it.
			waitParked(t, parked, waiters)
			close(g.release)
			for range waiters {
				r := <-results
				if tc.wantErr != nil {
					assert.ErrorIs(t, r.err, tc.wantErr)
				} else {
					require.NoError(t, r.err)
					assert.NotEqual(t, old.AccessToken.Reveal(), r.tok)
				}
			}
			assert.Equal(t, 1, f.count("/oauth/token"))
		})
	}
}

func TestBackwardsClockDoesNotPanicOrForceARefresh(t *testing.T) {
	clock := testClock()
	f := newFakeCTS(t)
	tok := sessionToken(t, clock, time.Hour, "rt-1")
	s := newTestSession(t, f, clock, tok)
	clock.Advance(-24 * time.Hour)
	assert.Equal(t, tok.AccessToken.Reveal(), mustToken(t, s))
	clock.Set(time.Unix(0, 0))
	assert.Equal(t, tok.AccessToken.Reveal(), mustToken(t, s))
	assert.Equal(t, 0, f.count("/oauth/token"))
}

// docs/protocol.md 7.4: a sibling process already rotated the refresh token on disk.
func TestSessionRefresherUsesTheDiskTokenWhenASiblingRotated(t *testing.T) {
	f, clock := refreshingCTS(t, "rt-x")
	dir := t.TempDir()
	ws := writeProfile(t, dir, sessionToken(t, clock, -time.Minute, "rt-1"))
	s := newProfileSession(t, f, clock, dir)

	rotated := sessionToken(t, clock, time.Hour, "rt-2")
	require.NoError(t, saveTokenFile(ws, rotated))
	assert.Equal(t, rotated.AccessToken.Reveal(), mustToken(t, s))
	assert.Equal(t, 0, f.count("/oauth/token"))
}

func TestTwoSessionsSharingAProfileRefreshOnce(t *testing.T) {
	clock := testClock()
	f := newFakeCTS(t)
	g := holdRefresh(t, f, clock)
	dir := t.TempDir()
	writeProfile(t, dir, sessionToken(t, clock, -time.Minute, "rt-1"))
	a := newProfileSession(t, f, clock, dir)
	b := newProfileSession(t, f, clock, dir)

	results := make(chan string, 2)
	for _, s := range []*DeviceSessionStrategy{a, b} {
		go func() { results <- revealOrError(s) }()
	}
	<-g.arrived // one holds the file lock inside the exchange; the other waits on the lock
	close(g.release)
	first, second := <-results, <-results
	assert.Equal(t, first, second)
	assert.False(t, strings.HasPrefix(first, "error"))
	assert.Equal(t, 1, f.count("/oauth/token"))
}

func TestDeviceSessionFromTokenDerivesTheCrn(t *testing.T) {
	clock := testClock()
	f := newFakeCTS(t)
	s := newTestSession(t, f, clock, sessionToken(t, clock, time.Hour, "rt"))
	crn, ok := s.WorkspaceCrn()
	require.True(t, ok)
	assert.Equal(t, testCRN, crn.String())

	claims := ctsClaims(testWS, clock.Now().Add(time.Hour).Unix())
	delete(claims, "workspace")
	noWS := &Token{AccessToken: NewSecretToken(makeJWT(t, claims)), TokenType: "Bearer", ExpiresAt: uint64(clock.Now().Add(time.Hour).Unix())}
	s2 := newTestSession(t, f, clock, noWS)
	_, ok = s2.WorkspaceCrn()
	assert.False(t, ok)
}

func TestProfileSessionFindsTheCTSFromTheIssuer(t *testing.T) {
	f, clock := refreshingCTS(t, "rt-2")
	dir := t.TempDir()
	claims := ctsClaims(testWS, clock.Now().Add(-time.Minute).Unix())
	claims["iss"] = f.URL
	tok := &Token{AccessToken: NewSecretToken(makeJWT(t, claims)), RefreshToken: NewSecretToken("rt-1"),
		TokenType: "Bearer", ExpiresAt: uint64(clock.Now().Add(-time.Minute).Unix()), Region: testRegion, ClientID: CLIClientID}
	writeProfile(t, dir, tok)
	s, err := DeviceSessionStrategyFromProfile(WithClock(clock), emptyEnv(), WithProfileDir(dir))
	require.NoError(t, err)
	defer s.Close()
	mustToken(t, s)
	assert.Equal(t, 1, f.count("/oauth/token"))
	data, err := os.ReadFile(filepath.Join(dir, "workspaces", testWS, authFile))
	require.NoError(t, err)
	disk := portDecodeJSON[map[string]any](t, data)
	assert.Equal(t, "rt-2", disk["refresh_token"])
}

// parkedCounter reports each caller that is about to wait for a refresh in flight.
func parkedCounter(e *Engine) <-chan struct{} {
	ch := make(chan struct{}, 1024)
	e.mu.Lock()
	e.onWait = func() { ch <- struct{}{} }
	e.mu.Unlock()
	return ch
}

// waitParked blocks until n callers reported by parkedCounter are waiting.
func waitParked(t *testing.T, ch <-chan struct{}, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for range n {
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("fewer than %d callers waited", n)
		}
	}
}

// A 401 (Invalidate) that lands while a refresh is spending the refresh token must not
// hide the spend: the refresh token must never be sent again.
func TestInvalidateDuringARefreshThatSpendsTheCredential(t *testing.T) {
	clock := testClock()
	f := newFakeCTS(t)
	g := holdRefresh(t, f, clock)
	dir := t.TempDir()
	tok := sessionToken(t, clock, 30*time.Second, "rt-1") // stale: refreshed in the background
	ws := writeProfile(t, dir, tok)
	events := newEventLog()
	s := newProfileSession(t, f, clock, dir, WithEvents(events.hook))
	// auth.json cannot be replaced: the exchange succeeds upstream but cannot be saved.
	path := filepath.Join(ws.Dir(), authFile)
	require.NoError(t, os.Remove(path))
	require.NoError(t, os.MkdirAll(filepath.Join(path, "blocker"), 0o700))

	first, err := s.GetToken(context.Background())
	require.NoError(t, err)
	<-g.arrived
	require.True(t, s.Invalidate(first.Token()), "the server rejected the current token")
	close(g.release)
	assert.Equal(t, CodeStore, events.waitFor(t, RefreshFailed).ErrorCode)

	_, err = s.GetToken(context.Background())
	assert.ErrorIs(t, err, ErrTokenExpired, "nothing left to refresh with")
	assert.Equal(t, 1, f.count("/oauth/token"), "the spent refresh token was not replayed")
}

// ---- Device-code login, the session's source: docs/upstream.md 10.12, upstream
// device_code/tests.rs: begin, the poll loop on a manual clock (sleeps advance it instantly),
// persistence, and the device identity sent. ----

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
