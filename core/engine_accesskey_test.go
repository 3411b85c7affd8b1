package stackauth

// Refresh engine with the access-key refresher: upstream's access_key_refresher.rs
// (docs/upstream.md 10.6) and the improvements of docs/architecture.md G1-G5.

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestAccessKeyStrategy(t *testing.T, f *fakeCTS, clock Clock, opts ...Option) *AccessKeyStrategy {
	t.Helper()
	base := []Option{WithBaseURL(f.URL), WithClock(clock), emptyEnv(), WithRand(func() float64 { return 0 })}
	s, err := NewAccessKeyStrategy(testCRN, testAccessKey, append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// eventLog collects engine events and lets a test wait for one without sleeping.
type eventLog struct {
	mu     sync.Mutex
	events []Event
	ch     chan Event
}

func newEventLog() *eventLog { return &eventLog{ch: make(chan Event, 1024)} }

func (l *eventLog) hook(ev Event) {
	l.mu.Lock()
	l.events = append(l.events, ev)
	l.mu.Unlock()
	l.ch <- ev
}

// waitFor blocks until an event of kind arrives (or fails the test after 10 s).
func (l *eventLog) waitFor(t *testing.T, kind EventKind) Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-l.ch:
			if ev.Kind == kind {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event", kind)
		}
	}
}

// mustToken gets a token from s and returns its bearer string.
func mustToken(t *testing.T, s AuthStrategy) string {
	t.Helper()
	tok, err := s.GetToken(context.Background())
	require.NoError(t, err)
	return tok.Token().Reveal()
}

// hourTokenCTS is a token service on a fresh manual clock that issues hour-long tokens.
func hourTokenCTS(t *testing.T) (*fakeCTS, *ManualClock) {
	clock := testClock()
	f := newFakeCTS(t)
	f.handle("/api/authorise", authoriseOK(t, clock, testWS, time.Hour))
	return f, clock
}

// startCallers calls s.GetToken from n goroutines; each sends its revealOrError.
func startCallers(s AuthStrategy, n int) <-chan string {
	results := make(chan string, n)
	for range n {
		go func() { results <- revealOrError(s) }()
	}
	return results
}

// revealOrError is s's token, or "error: ..." (for goroutines, which may not call require).
func revealOrError(s AuthStrategy) string {
	tok, err := s.GetToken(context.Background())
	if err != nil {
		return "error: " + err.Error()
	}
	return tok.Token().Reveal()
}

func TestAccessKeyExpiryIsAbsoluteEpochNotRelative(t *testing.T) {
	clock := testClock()
	f := newFakeCTS(t)
	f.handle("/api/authorise", authoriseOK(t, clock, testWS, 900*time.Second))
	s := newTestAccessKeyStrategy(t, f, clock)

	tok, err := s.GetToken(context.Background())
	require.NoError(t, err)
	now := uint64(clock.Now().Unix())
	assert.Equal(t, now+900, tok.ExpiresAt())
	assert.Equal(t, uint64(900), s.current().ExpiresInAt(now))
	assert.False(t, s.current().IsExpiredAt(now))
}

func TestInitialAuthThenServedFromCacheEvenWhenServerFails(t *testing.T) {
	f, clock := hourTokenCTS(t)
	s := newTestAccessKeyStrategy(t, f, clock)

	first := mustToken(t, s)
	assert.Equal(t, 1, f.count("/api/authorise"))
	f.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) { writeText(w, 500, "boom") })
	second := mustToken(t, s)
	assert.Equal(t, first, second)
	assert.Equal(t, 1, f.count("/api/authorise"))
	assert.JSONEq(t, `{"accessKey":"`+testAccessKey+`"}`, f.body("/api/authorise", 0))
}

func TestIssuanceFailuresAreTyped(t *testing.T) {
	cases := []struct {
		name, body string
		status     int
		code, msg  string
	}{
		{"usage limit 402 is typed", `{"error":"access_denied","error_description":"Plan limit reached"}`, 402, CodeUsageLimitExceeded, "Plan limit reached"},
		{"org not provisioned", `{"cs_code":"ORG_NOT_PROVISIONED"}`, 402, CodeOrgNotProvisioned, defaultNotProvisionedText},
		{"non-402 failures are unchanged", "boom", 500, CodeServer, "Server error: 500: boom"},
		{"401 is a server error that says the key was refused", `{"error":"unauthorized"}`, 401, CodeServer, `Server error: the token service refused the access key (HTTP 401): unauthorized`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCTS(t)
			f.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) { writeText(w, tc.status, tc.body) })
			s := newTestAccessKeyStrategy(t, f, testClock())
			_, err := s.GetToken(context.Background())
			ae := AsAuthError(err)
			assert.Equal(t, tc.code, ae.Code)
			assert.Equal(t, tc.msg, ae.Message)
		})
	}
}

func TestStoreSharing(t *testing.T) {
	clock := testClock()
	t.Run("loads a fresh token from the store on cold start without HTTP", func(t *testing.T) {
		f := newFakeCTS(t)
		store := NewInMemoryTokenStore()
		exp := clock.Now().Add(time.Hour).Unix()
		jwt := makeJWT(t, ctsClaims(testWS, exp))
		s := newTestAccessKeyStrategy(t, f, clock, WithStore(store))
		require.NoError(t, s.store.Save(context.Background(), &Token{AccessToken: NewSecretToken(jwt), TokenType: "Bearer", ExpiresAt: uint64(exp)}))
		assert.Equal(t, jwt, mustToken(t, s))
		waitIdle(s.Engine) // a refresh started behind the caller's back would show here
		assert.Equal(t, 0, f.count("/api/authorise"))
	})
	t.Run("a stale stored token is served and refreshed in the background", func(t *testing.T) {
		f := newFakeCTS(t)
		f.handle("/api/authorise", authoriseOK(t, clock, testWS, time.Hour))
		store := NewInMemoryTokenStore()
		exp := clock.Now().Add(30 * time.Second).Unix()
		jwt := makeJWT(t, ctsClaims(testWS, exp))
		s := newTestAccessKeyStrategy(t, f, clock, WithStore(store))
		require.NoError(t, s.store.Save(context.Background(), &Token{AccessToken: NewSecretToken(jwt), TokenType: "Bearer", ExpiresAt: uint64(exp)}))
		assert.Equal(t, jwt, mustToken(t, s))
		waitIdle(s.Engine)
		assert.Equal(t, 1, f.count("/api/authorise"))
		assert.NotEqual(t, jwt, mustToken(t, s))
	})
	t.Run("persists after initial auth and a second strategy skips HTTP", func(t *testing.T) {
		f := newFakeCTS(t)
		f.handle("/api/authorise", authoriseOK(t, clock, testWS, time.Hour))
		store := NewInMemoryTokenStore()
		a := newTestAccessKeyStrategy(t, f, clock, WithStore(store))
		ta := mustToken(t, a)
		require.NoError(t, Flush(context.Background())) // the save follows the wake-up (docs/architecture.md D3)
		saved, err := a.store.Load(context.Background())
		require.NoError(t, err)
		require.NotNil(t, saved)
		assert.Equal(t, ta, saved.AccessToken.Reveal())

		b := newTestAccessKeyStrategy(t, f, clock, WithStore(store))
		assert.Equal(t, ta, mustToken(t, b))
		assert.Equal(t, 1, f.count("/api/authorise"))
	})
	t.Run("an expired stored token is refreshed and the store overwritten", func(t *testing.T) {
		f := newFakeCTS(t)
		f.handle("/api/authorise", authoriseOK(t, clock, testWS, time.Hour))
		store := NewInMemoryTokenStore()
		old := makeJWT(t, ctsClaims(testWS, clock.Now().Unix()-10))
		s := newTestAccessKeyStrategy(t, f, clock, WithStore(store))
		require.NoError(t, s.store.Save(context.Background(), &Token{AccessToken: NewSecretToken(old), TokenType: "Bearer", ExpiresAt: uint64(clock.Now().Unix() - 10)}))
		got := mustToken(t, s)
		assert.NotEqual(t, old, got)
		assert.Equal(t, 1, f.count("/api/authorise"))
		require.NoError(t, Flush(context.Background()))
		saved, _ := s.store.Load(context.Background())
		assert.Equal(t, got, saved.AccessToken.Reveal())
	})
}

func TestReAuthenticatesOnExpiry(t *testing.T) {
	f, clock := hourTokenCTS(t)
	s := newTestAccessKeyStrategy(t, f, clock)
	first := mustToken(t, s)
	clock.Advance(2 * time.Hour)
	second := mustToken(t, s)
	assert.NotEqual(t, first, second)
	assert.Equal(t, 2, f.count("/api/authorise"))
}

func TestRefreshFailurePropagatesTheRefusalNotExpired(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		code   string
	}{
		{"401", 401, "denied", CodeServer},
		{"usage limit", 402, "", CodeUsageLimitExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := testClock()
			f := newFakeCTS(t)
			f.handle("/api/authorise", authoriseOK(t, clock, testWS, time.Hour))
			s := newTestAccessKeyStrategy(t, f, clock)
			mustToken(t, s)
			f.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) { writeText(w, tc.status, tc.body) })
			clock.Advance(2 * time.Hour)
			_, err := s.GetToken(context.Background())
			assert.Equal(t, tc.code, AsAuthError(err).Code)
		})
	}
}

func TestStickyDenial(t *testing.T) {
	usageLimit := func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 402, map[string]any{"error": "access_denied", "error_description": "over the limit"})
	}
	t.Run("a settled refusal is not re-issued on every call", func(t *testing.T) {
		f := newFakeCTS(t)
		f.handle("/api/authorise", usageLimit)
		s := newTestAccessKeyStrategy(t, f, testClock())
		for range 5 {
			_, err := s.GetToken(context.Background())
			assert.Equal(t, CodeUsageLimitExceeded, AsAuthError(err).Code)
			assert.Equal(t, "over the limit", err.Error())
		}
		assert.Equal(t, 1, f.count("/api/authorise"))
	})
	t.Run("retried once it expires, and an upgraded plan is observed", func(t *testing.T) {
		clock := testClock()
		f := newFakeCTS(t)
		f.handle("/api/authorise", usageLimit)
		s := newTestAccessKeyStrategy(t, f, clock)
		_, err := s.GetToken(context.Background())
		require.Error(t, err)
		clock.Advance(DenialTTL - time.Second)
		_, err = s.GetToken(context.Background())
		require.Error(t, err)
		assert.Equal(t, 1, f.count("/api/authorise"))
		clock.Advance(2 * time.Second)
		f.handle("/api/authorise", authoriseOK(t, clock, testWS, time.Hour))
		mustToken(t, s)
		assert.Equal(t, 2, f.count("/api/authorise"))
	})
	t.Run("a success clears the refusal immediately", func(t *testing.T) {
		f, clock := hourTokenCTS(t)
		s := newTestAccessKeyStrategy(t, f, clock)
		mustToken(t, s)
		f.handle("/api/authorise", usageLimit)
		clock.Advance(2 * time.Hour)
		_, err := s.GetToken(context.Background())
		require.Equal(t, CodeUsageLimitExceeded, AsAuthError(err).Code)
		clock.Advance(DenialTTL)
		f.handle("/api/authorise", authoriseOK(t, clock, testWS, time.Hour))
		mustToken(t, s)
		s.mu.Lock()
		assert.Nil(t, s.denial)
		s.mu.Unlock()
	})
	t.Run("a backwards clock does not pin the refusal", func(t *testing.T) {
		clock := testClock()
		f := newFakeCTS(t)
		f.handle("/api/authorise", usageLimit)
		s := newTestAccessKeyStrategy(t, f, clock)
		_, _ = s.GetToken(context.Background())
		clock.Advance(-time.Hour)
		_, _ = s.GetToken(context.Background())
		assert.Equal(t, 2, f.count("/api/authorise"))
	})
	t.Run("a server fault is retried on the next call", func(t *testing.T) {
		f := newFakeCTS(t)
		f.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) { writeText(w, 500, "boom") })
		s := newTestAccessKeyStrategy(t, f, testClock())
		for range 3 {
			_, err := s.GetToken(context.Background())
			assert.Equal(t, CodeServer, AsAuthError(err).Code)
		}
		assert.Equal(t, 3, f.count("/api/authorise"))
	})
	t.Run("a still-usable token is served while a refusal is fresh", func(t *testing.T) {
		f, clock := hourTokenCTS(t)
		events := newEventLog()
		s := newTestAccessKeyStrategy(t, f, clock, WithEvents(events.hook))
		first := mustToken(t, s)
		f.handle("/api/authorise", usageLimit)
		clock.Advance(time.Hour - 30*time.Second) // stale but usable
		assert.Equal(t, first, mustToken(t, s))
		events.waitFor(t, RefreshFailed)
		for range 5 {
			assert.Equal(t, first, mustToken(t, s))
		}
		assert.Equal(t, 2, f.count("/api/authorise"))
	})
}

// gate blocks a handler until released, and reports when a request has arrived.
type gate struct {
	arrived chan struct{}
	release chan struct{}
}

func newGate() *gate { return &gate{arrived: make(chan struct{}, 1024), release: make(chan struct{})} }

// holdAuthorise makes f's hour-long tokens wait at a new gate, and returns it.
func holdAuthorise(t *testing.T, f *fakeCTS, clock Clock) *gate {
	g := newGate()
	f.handle("/api/authorise", g.wrap(authoriseOK(t, clock, testWS, time.Hour)))
	return g
}

func (g *gate) wrap(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		g.arrived <- struct{}{}
		<-g.release
		h(w, r)
	}
}

func TestConcurrentInitialAuthMakesOneRequest(t *testing.T) {
	clock := testClock()
	f := newFakeCTS(t)
	g := holdAuthorise(t, f, clock)
	s := newTestAccessKeyStrategy(t, f, clock)

	const callers = 50
	results := startCallers(s, callers)
	<-g.arrived
	close(g.release)
	var first string
	for i := range callers {
		got := <-results
		if i == 0 {
			first = got
		}
		assert.Equal(t, first, got)
	}
	assert.Equal(t, 1, f.count("/api/authorise"))
	assert.Equal(t, 1, f.peakConcurrency())
}

func TestExpiredTokenCallersWaitForOneRefresh(t *testing.T) {
	f, clock := hourTokenCTS(t)
	s := newTestAccessKeyStrategy(t, f, clock)
	old := mustToken(t, s)

	g := holdAuthorise(t, f, clock)
	clock.Advance(2 * time.Hour)
	const callers = 50
	results := startCallers(s, callers)
	<-g.arrived
	close(g.release)
	for range callers {
		got := <-results
		assert.NotEqual(t, old, got)
		assert.NotContains(t, got, "error: ")
	}
	assert.Equal(t, 2, f.count("/api/authorise"))
}

// docs/architecture.md G1: a stale token is returned to every caller at once while one background
// refresh runs. The refresh is held at a gate until every caller has returned, which
// proves no caller waited on it.
func TestStaleTokenIsServedToEveryoneWhileOneRefreshRuns(t *testing.T) {
	f, clock := hourTokenCTS(t)
	events := newEventLog()
	s := newTestAccessKeyStrategy(t, f, clock, WithEvents(events.hook))
	old := mustToken(t, s)
	events.waitFor(t, RefreshSucceeded)

	g := holdAuthorise(t, f, clock)
	clock.Advance(time.Hour - 30*time.Second) // inside the 90 s window, still usable

	const callers = 1000
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[string]int{}
	for range callers {
		wg.Go(func() {
			tok := revealOrError(s)
			mu.Lock()
			defer mu.Unlock()
			got[tok]++
		})
	}
	wg.Wait() // every caller returned while the refresh is still held at the gate
	assert.Equal(t, map[string]int{old: callers}, got)
	<-g.arrived
	close(g.release)
	ev := events.waitFor(t, RefreshSucceeded)
	assert.Equal(t, ReasonStale, ev.Reason)
	assert.NotEqual(t, old, mustToken(t, s))
	assert.Equal(t, 2, f.count("/api/authorise"))
}

// docs/architecture.md G1: a caller that gives up waiting never cancels the shared refresh.
func TestCancelledWaiterDoesNotCancelTheRefresh(t *testing.T) {
	clock := testClock()
	f := newFakeCTS(t)
	g := holdAuthorise(t, f, clock)
	s := newTestAccessKeyStrategy(t, f, clock)

	ctx, cancel := context.WithCancel(context.Background())
	impatient := make(chan error, 1)
	go func() { _, err := s.GetToken(ctx); impatient <- err }()
	<-g.arrived
	patient := make(chan string, 1)
	go func() { patient <- revealOrError(s) }()
	cancel()
	err := <-impatient
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, CodeRequest, AsAuthError(err).Code)
	close(g.release)
	got := <-patient
	assert.NotContains(t, got, "error: ")
	// The refresh the impatient caller started completed and is cached.
	mustToken(t, s)
	assert.Equal(t, 1, f.count("/api/authorise"))
}

// docs/architecture.md G3: the refresh window never exceeds half the token's lifetime, so a 60 s
// token is not refreshed on every call (upstream's 90 s leeway would).
func TestSixtySecondTokenIsNotRefreshedOnEveryCall(t *testing.T) {
	clock := testClock()
	f := newFakeCTS(t)
	f.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) {
		now := clock.Now().Unix()
		claims := ctsClaims(testWS, now+60)
		claims["iat"] = now
		writeJSON(w, 200, map[string]any{"accessToken": makeJWT(t, claims), "expiry": now + 60})
	})
	events := newEventLog()
	s := newTestAccessKeyStrategy(t, f, clock, WithEvents(events.hook))
	mustToken(t, s)
	for range 29 {
		clock.Advance(time.Second)
		mustToken(t, s)
	}
	assert.Equal(t, 1, f.count("/api/authorise"), "fresh for the first half of its life")
	clock.Advance(2 * time.Second)
	mustToken(t, s)
	ev := events.waitFor(t, RefreshStarted)
	for ev.Reason != ReasonStale {
		ev = events.waitFor(t, RefreshStarted)
	}
	events.waitFor(t, RefreshSucceeded)
	assert.Equal(t, 2, f.count("/api/authorise"))
}

// docs/architecture.md G4: a failed background refresh backs off instead of retrying on every call.
func TestFailedBackgroundRefreshBacksOff(t *testing.T) {
	f, clock := hourTokenCTS(t)
	events := newEventLog()
	s := newTestAccessKeyStrategy(t, f, clock, WithEvents(events.hook), WithRand(func() float64 { return 0.5 }))
	old := mustToken(t, s)
	events.waitFor(t, RefreshSucceeded)

	f.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) { writeText(w, 503, "down") })
	clock.Advance(time.Hour - 80*time.Second)
	for attempt := 1; attempt <= 4; attempt++ {
		assert.Equal(t, old, mustToken(t, s))
		events.waitFor(t, RefreshFailed)
		for range 20 {
			assert.Equal(t, old, mustToken(t, s))
		}
		assert.Equal(t, 1+attempt, f.count("/api/authorise"), "one attempt per backoff period")
		// Backoff is base·2^(n-1), jittered to between half and all of it (rand 0.5 → ¾).
		clock.Advance(time.Duration(float64(backoffBase<<(attempt-1)) * 0.75))
	}
}

// docs/architecture.md G5: Invalidate forces a refresh only while the rejected token is current.
func TestInvalidateRefreshesOnlyTheCurrentToken(t *testing.T) {
	f, clock := hourTokenCTS(t)
	s := newTestAccessKeyStrategy(t, f, clock)
	first, err := s.GetToken(context.Background())
	require.NoError(t, err)

	assert.True(t, s.Invalidate(first.Token()))
	second, err := s.GetToken(context.Background())
	require.NoError(t, err)
	assert.NotEqual(t, first.Token().Reveal(), second.Token().Reveal())
	assert.Equal(t, 2, f.count("/api/authorise"))

	// A late 401 for the first token must not throw the second away.
	assert.False(t, s.Invalidate(first.Token()))
	third, err := s.GetToken(context.Background())
	require.NoError(t, err)
	assert.Equal(t, second.Token().Reveal(), third.Token().Reveal())
	assert.Equal(t, 2, f.count("/api/authorise"))
}

func TestEventsReportReasonSourceAndOutcome(t *testing.T) {
	f, clock := hourTokenCTS(t)
	events := newEventLog()
	store := NewInMemoryTokenStore()
	s := newTestAccessKeyStrategy(t, f, clock, WithEvents(events.hook), WithStore(store))
	mustToken(t, s)
	assert.Equal(t, Event{Kind: RefreshStarted, Reason: ReasonInitial}, events.waitFor(t, RefreshStarted))
	ok := events.waitFor(t, RefreshSucceeded)
	assert.Equal(t, ReasonInitial, ok.Reason)
	assert.Equal(t, SourceNetwork, ok.Source)
	require.NoError(t, Flush(context.Background())) // the save follows the wake-up (docs/architecture.md D3)

	s2 := newTestAccessKeyStrategy(t, f, clock, WithEvents(events.hook), WithStore(store))
	mustToken(t, s2)
	assert.Equal(t, SourceStore, events.waitFor(t, RefreshSucceeded).Source)
}

func TestFreshPathDoesNotAllocate(t *testing.T) {
	f, clock := hourTokenCTS(t)
	s := newTestAccessKeyStrategy(t, f, clock)
	mustToken(t, s)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() { _, _ = s.GetToken(ctx) })
	assert.Zero(t, allocs)
}

func TestClosedStrategyFailsAndStopsItsRefresh(t *testing.T) {
	clock := testClock()
	f := newFakeCTS(t)
	g := holdAuthorise(t, f, clock)
	s := newTestAccessKeyStrategy(t, f, clock)
	done := make(chan error, 1)
	go func() { _, err := s.GetToken(context.Background()); done <- err }()
	<-g.arrived
	s.Close()
	err := <-done
	require.Error(t, err)
	close(g.release)
	_, err = s.GetToken(context.Background())
	assert.True(t, errors.Is(err, ErrAlreadyConsumed))
	assert.False(t, AsAuthError(err).Retryable(), "a closed strategy never works again")
}

func TestClosedStrategyNoLongerServesItsCachedToken(t *testing.T) {
	f, clock := hourTokenCTS(t)
	s := newTestAccessKeyStrategy(t, f, clock)
	mustToken(t, s)
	s.Close()
	_, err := s.GetToken(context.Background())
	assert.ErrorIs(t, err, ErrAlreadyConsumed, "the lock-free path stops too")
	_, err, ready := s.TryGetToken()
	assert.True(t, ready)
	assert.ErrorIs(t, err, ErrAlreadyConsumed)
}

// A closed engine has one answer, whatever it remembered before: TryGetToken used to
// return the remembered refusal while GetToken said ALREADY_CONSUMED.
func TestClosedStrategyAnswersClosedOverARememberedRefusal(t *testing.T) {
	f := newFakeCTS(t)
	f.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 402, map[string]any{"error": "access_denied", "error_description": "over the limit"})
	})
	s := newTestAccessKeyStrategy(t, f, testClock())
	_, err := s.GetToken(context.Background())
	require.Equal(t, CodeUsageLimitExceeded, AsAuthError(err).Code)
	s.Close()
	_, err = s.GetToken(context.Background())
	assert.ErrorIs(t, err, ErrAlreadyConsumed)
	_, err, ready := s.TryGetToken()
	assert.True(t, ready)
	assert.ErrorIs(t, err, ErrAlreadyConsumed)
	assert.Equal(t, 1, f.count("/api/authorise"))
}

// waitIdle waits for a refresh in flight, if any, to finish.
func waitIdle(e *Engine) {
	e.mu.Lock()
	f := e.flight
	e.mu.Unlock()
	if f != nil {
		<-f.done
	}
}

// A TryGetToken that saw no token, and then took the lock just after a refresh installed
// one, used to start a second, needless refresh of the brand-new token.
func TestTryGetTokenRacingARefreshMakesNoSecondRequest(t *testing.T) {
	for round := range 30 {
		f, clock := hourTokenCTS(t)
		s := newTestAccessKeyStrategy(t, f, clock)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
						_, _, _ = s.TryGetToken()
					}
				}
			})
		}
		mustToken(t, s)
		close(stop)
		wg.Wait()
		waitIdle(s.Engine)
		require.Equal(t, 1, f.count("/api/authorise"), "round %d", round)
	}
}
