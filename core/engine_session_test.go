package stackauth

// Refresh engine with the device-session refresher: upstream's auto_refresh.rs and
// device_session_refresher.rs (docs/upstream.md 10.7, 10.8).

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stackauth/stack-auth/core/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
		wg.Add(1)
		go func() { defer wg.Done(); _, err := s.GetToken(context.Background()); assert.NoError(t, err) }()
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
