package stackauth

// docs/architecture.md D3: waiters wake when a token is minted, not when it is saved; the save follows,
// and the next refresh waits for it.

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAHungSaveNeverFailsACallerWhoseTokenWasMinted(t *testing.T) {
	clock := testClock()
	f := newFakeCTS(t)
	f.handle("/api/authorise", authoriseOK(t, clock, testWS, time.Hour))
	release := make(chan struct{})
	saving := make(chan struct{}, 4)
	var saves atomic.Int32
	store := NewTokenStoreFn(nil, func(ctx context.Context, _ string) error {
		saving <- struct{}{}
		<-release
		saves.Add(1)
		return nil
	})
	events := newEventLog()
	s := newTestAccessKeyStrategy(t, f, clock, WithStore(store), WithEvents(events.hook))

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	first, err := s.GetToken(ctx)
	require.NoError(t, err, "the token was minted; only its save is still running")
	<-saving
	cached, err, ok := s.TryGetToken()
	require.True(t, ok)
	require.NoError(t, err)
	assert.True(t, cached.Token().Equal(first.Token()))

	// A refresh forced now must not start before the first save is done.
	sentBeforeSave := make(chan bool, 1)
	f.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) {
		sentBeforeSave <- saves.Load() == 0
		authoriseOK(t, clock, testWS, time.Hour)(w, r)
	})
	require.True(t, s.Invalidate(first.Token()))
	second := make(chan error, 1)
	go func() { _, err := s.GetToken(context.Background()); second <- err }()
	events.waitFor(t, RefreshStarted) // the first flight's
	events.waitFor(t, RefreshStarted) // the forced one's: it now waits for the save
	select {
	case early := <-sentBeforeSave:
		t.Fatalf("the next refresh was sent while the save ran (before save: %v)", early)
	case <-time.After(200 * time.Millisecond): // bounds the wait for something that must not happen
	}
	close(release)
	require.NoError(t, <-second)
	assert.False(t, <-sentBeforeSave, "the next refresh followed the save")
	<-saving
	assert.Equal(t, 2, f.count("/api/authorise"))

	var kinds []EventKind
	events.mu.Lock()
	for _, ev := range events.events {
		kinds = append(kinds, ev.Kind)
	}
	events.mu.Unlock()
	assert.Equal(t, []EventKind{RefreshStarted, RefreshSucceeded, TokenInvalidated, RefreshStarted, RefreshSucceeded}, kinds)
}

// A second strategy starting cold on a store the first is still saving to reads that save
// instead of minting a second token.
func TestAColdStartReadsASaveStillInFlightOnItsStore(t *testing.T) {
	clock := testClock()
	f := newFakeCTS(t)
	f.handle("/api/authorise", authoriseOK(t, clock, testWS, time.Hour))
	release := make(chan struct{})
	var saved atomic.Pointer[string]
	loadedBeforeSave := make(chan bool, 4)
	store := NewTokenStoreFn(func(context.Context) (string, error) {
		p := saved.Load()
		loadedBeforeSave <- p == nil
		if p == nil {
			return "", nil
		}
		return *p, nil
	}, func(ctx context.Context, tokenJSON string) error {
		<-release
		saved.Store(&tokenJSON)
		return nil
	})
	a := newTestAccessKeyStrategy(t, f, clock, WithStore(store))
	first := mustToken(t, a)
	require.True(t, <-loadedBeforeSave, "a's own cold start found nothing")

	events := newEventLog()
	b := newTestAccessKeyStrategy(t, f, clock, WithStore(store), WithEvents(events.hook))
	second := make(chan string, 1)
	go func() { second <- mustToken(t, b) }()
	events.waitFor(t, RefreshStarted)
	select {
	case early := <-loadedBeforeSave:
		t.Fatalf("b read the store while a's save was in flight (before save: %v)", early)
	case <-time.After(200 * time.Millisecond): // bounds the wait for something that must not happen
	}
	close(release)
	assert.Equal(t, first, <-second, "b was served a's saved token")
	assert.False(t, <-loadedBeforeSave)
	assert.Equal(t, 1, f.count("/api/authorise"))
}

// slowSaveStore is a shared file store whose Save waits for release.
type slowSaveStore struct {
	LockingStore
	saving  chan struct{}
	release chan struct{}
}

func (s *slowSaveStore) Save(ctx context.Context, t *Token) error {
	s.saving <- struct{}{}
	<-s.release
	return s.LockingStore.Save(ctx, t)
}

// A locking store keeps its lock until the save is done: another process (another handle on
// the same file) that asks meanwhile waits and then reads the new token instead of minting.
func TestALockingStoreHoldsItsLockUntilTheSaveIsDone(t *testing.T) {
	clock := testClock()
	f := newFakeCTS(t)
	f.handle("/api/authorise", authoriseOK(t, clock, testWS, time.Hour))
	url := "file://" + t.TempDir() + "/token.json"
	open := func() LockingStore {
		st, err := OpenStore(url)
		require.NoError(t, err)
		return st.(LockingStore)
	}
	slow := &slowSaveStore{LockingStore: open(), saving: make(chan struct{}, 1), release: make(chan struct{})}
	a := newTestAccessKeyStrategy(t, f, clock, WithStore(slow))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	first, err := a.GetToken(ctx)
	require.NoError(t, err, "minted; the save is still running")
	<-slow.saving

	events := newEventLog()
	b := newTestAccessKeyStrategy(t, f, clock, WithStore(open()), WithEvents(events.hook))
	second := make(chan ServiceToken, 1)
	go func() {
		tok, err := b.GetToken(context.Background())
		assert.NoError(t, err)
		second <- tok
	}()
	events.waitFor(t, RefreshStarted)
	select {
	case <-second:
		t.Fatal("b got a token while a still held the lock to save its own")
	case <-time.After(200 * time.Millisecond): // bounds the wait for something that must not happen
	}
	close(slow.release)
	got := <-second
	assert.True(t, got.Token().Equal(first.Token()), "b read a's saved token")
	assert.Equal(t, 1, f.count("/api/authorise"))
}

// A caller that gets its token and closes the strategy at once must not cancel the save
// that follows the wake-up: the next process would mint a second token (and a file or Redis
// store would keep its lock until the lock's TTL).
func TestClosingRightAfterGetTokenStillSaves(t *testing.T) {
	clock := testClock()
	f := newFakeCTS(t)
	f.handle("/api/authorise", authoriseOK(t, clock, testWS, time.Hour))
	release := make(chan struct{})
	saved := make(chan error, 1)
	store := NewTokenStoreFn(nil, func(ctx context.Context, _ string) error {
		<-release // the host closes the strategy while this save is in flight
		saved <- ctx.Err()
		return nil
	})
	s := newTestAccessKeyStrategy(t, f, clock, WithStore(store))
	_, err := s.GetToken(context.Background())
	require.NoError(t, err)
	s.Close()
	close(release)
	require.NoError(t, <-saved, "Close cancelled the save of a token already handed out")
	require.NoError(t, Flush(context.Background()))
}

// ctxBlindRefresher answers after its release even when its context was cancelled, as an
// HTTP answer racing Close's cancellation can.
type ctxBlindRefresher struct {
	entered, release chan struct{}
	tok              *Token
}

func (r *ctxBlindRefresher) canRefresh(*Token) bool { return true }
func (r *ctxBlindRefresher) refresh(context.Context, *Token) (*Token, error) {
	r.entered <- struct{}{}
	<-r.release
	return r.tok.Clone(), nil
}

// A closed engine installs and saves nothing, even when the answer beats the cancellation.
func TestAnAnswerArrivingAfterCloseIsNeitherInstalledNorSaved(t *testing.T) {
	clock := testClock()
	exp := clock.Now().Add(time.Hour).Unix()
	tok := &Token{AccessToken: NewSecretToken(makeJWT(t, ctsClaims(testWS, exp))), ExpiresAt: uint64(exp)}
	r := &ctxBlindRefresher{entered: make(chan struct{}, 1), release: make(chan struct{}), tok: tok}
	var saves atomic.Int32
	store := NewTokenStoreFn(nil, func(context.Context, string) error { saves.Add(1); return nil })
	events := newEventLog()
	e := newEngine(r, store, nil, buildOptions([]Option{WithClock(clock), WithEvents(events.hook)}))
	done := make(chan error, 1)
	go func() { _, err := e.GetToken(context.Background()); done <- err }()
	<-r.entered
	e.Close()
	close(r.release)
	assert.Equal(t, RefreshFailed, events.waitFor(t, RefreshFailed).Kind)
	require.Error(t, <-done)
	require.NoError(t, Flush(context.Background()))
	assert.Zero(t, saves.Load(), "a closed strategy saved a token")
}
