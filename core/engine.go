package stackauth

// The refresh engine: upstream's AutoRefresh (docs/protocol.md 4, with every fix) and the
// improvements of docs/architecture.md G1-G4:
//
//   - fresh token:    one atomic load, no lock, no allocation;
//   - stale token:    (inside the refresh window but still usable) returned to every caller
//                     at once while one detached background refresh runs;
//   - no usable token: callers wait single-flight for one refresh, each on its own context;
//                     a caller that gives up never cancels the shared refresh.
//
// The engine's states (fresh, stale, refreshing, denied, expired, closed ...) are decided in
// one place, stateLocked; docs/engine.md draws them.
//
// Refreshes run in their own goroutine with their own deadline, and every exit path of
// that goroutine wakes every waiter (close of flight.done). Hooks (store I/O, refreshers,
// events) never run while e.mu is held, except the store load of a cold start, which runs
// inside the flight and therefore outside the lock too.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// DenialTTL is how long an account refusal (usage limit, unprovisioned org) is answered
// from memory instead of asking the server again.
const DenialTTL = 60 * time.Second

const (
	defaultRefreshTimeout = 60 * time.Second
	// lockWait bounds the wait for a shared store's lock; past it the refresh goes on
	// locally (a duplicate request, never an error).
	lockWait    = 20 * time.Second
	backoffBase = 1 * time.Second
	backoffMax  = 30 * time.Second
)

// refresher is the flow-specific part of the engine (docs/protocol.md 4.1).
type refresher interface {
	// canRefresh reports whether cur (nil on a cold start) carries what refresh needs.
	canRefresh(cur *Token) bool
	// refresh exchanges cur's credential for a new token. An error wrapping errConsumed
	// means the credential was spent upstream and must never be replayed.
	refresh(ctx context.Context, cur *Token) (*Token, error)
}

// errConsumed marks a refresh whose upstream exchange succeeded but whose result could not
// be persisted: the rotated credential is gone, so the old one must not be replayed.
var errConsumed = errors.New("credential consumed")

type consumedError struct{ *AuthError }

func (e consumedError) Unwrap() []error { return []error{e.AuthError, errConsumed} }

// entry is one installed token with every decision about it precomputed, so that the
// fresh path is a load and a comparison. Entries are immutable once published.
type entry struct {
	tok        *Token
	svc        ServiceToken
	verifyErr  error  // the strategy's check of this token (workspace binding)
	freshUntil uint64 // fresh while now < freshUntil
	gen        uint64
	spent      bool // the refresh credential was consumed: never refresh from it
	invalid    bool // rejected by Invalidate: not usable
}

func (e *entry) usableAt(now uint64) bool { return !e.invalid && e.tok.IsUsableAt(now) }

// flight is one refresh in progress; done is closed when it ends, however it ends.
type flight struct {
	done   chan struct{}
	result *entry
	err    error
}

type denial struct {
	err *AuthError
	at  uint64
}

func (d *denial) freshAt(now uint64) bool {
	return d != nil && now >= d.at && now-d.at < uint64(DenialTTL/time.Second)
}

// Engine caches a token and refreshes it. It is safe for concurrent use.
type Engine struct {
	cur atomic.Pointer[entry]

	r      refresher
	store  TokenStore
	verify func(ServiceToken) error
	cfg    *options

	ctx    context.Context // cancelled by Close; parent of every refresh
	cancel context.CancelFunc

	mu       sync.Mutex
	flight   *flight
	saving   chan struct{} // closed when the last refresh's store save is done; nil: none
	denial   *denial
	failures int       // consecutive failed background refreshes
	retryAt  time.Time // no background refresh before this
	gen      uint64
	closed   bool

	onWait func() // test hook: a caller is about to wait for a flight
}

func newEngine(r refresher, store TokenStore, verify func(ServiceToken) error, cfg *options) *Engine {
	if store == nil {
		store = NoStore{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Engine{r: r, store: store, verify: verify, cfg: cfg, ctx: ctx, cancel: cancel}
}

// seed installs an initial token (a device session's token from login or the profile).
func (e *Engine) seed(t *Token) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.installLocked(t, false)
}

func (e *Engine) now() uint64 { return uint64(e.cfg.clock.Now().Unix()) }

// tokenState is what the engine can do for a caller right now. stateLocked alone decides
// it; GetToken, TryGetToken and the refresh goroutine each switch on it. docs/engine.md
// draws the states and their transitions.
type tokenState int

const (
	fresh      tokenState = iota // usable, before its refresh window: served as is
	stale                        // usable, in its refresh window: served, and a background refresh starts
	staleHeld                    // stale, but no refresh may start now: one is running, a refusal is remembered, the backoff has not elapsed, or nothing can refresh it
	due                          // no usable token (none yet, expired, invalidated): a refresh starts and callers wait for it
	refreshing                   // no usable token and a refresh is running: callers wait for it
	denied                       // no usable token and an account refusal is remembered (DenialTTL): it is the answer
	expired                      // no usable token and nothing to refresh it with: EXPIRED_TOKEN
	closed                       // Close was called: ALREADY_CONSUMED, whatever was remembered before
)

// freshAt is stateLocked's first case, the one decidable without e.mu: an entry is
// immutable, and Close clears e.cur, so a closed engine is never fresh.
func (ent *entry) freshAt(now uint64) bool { return ent != nil && now < ent.freshUntil }

// stateLocked decides the engine's state at now, ent being the current entry.
func (e *Engine) stateLocked(now uint64, ent *entry) tokenState {
	switch {
	case e.closed:
		return closed
	case ent.freshAt(now):
		return fresh
	case ent != nil && ent.usableAt(now):
		if e.flight != nil || e.denial.freshAt(now) || ent.spent ||
			e.cfg.clock.Now().Before(e.retryAt) || !e.r.canRefresh(ent.tok) {
			return staleHeld
		}
		return stale
	case e.flight != nil:
		return refreshing
	case e.denial.freshAt(now):
		return denied
	case ent != nil && (ent.spent || !e.r.canRefresh(ent.tok)):
		return expired
	}
	return due
}

// GetToken returns a usable token, refreshing when needed.
func (e *Engine) GetToken(ctx context.Context) (ServiceToken, error) {
	if ent := e.cur.Load(); ent.freshAt(e.now()) { // one atomic load, no lock
		return ent.svc, ent.verifyErr
	}
	return e.slow(ctx)
}

// TryGetToken never blocks: it returns the cached token when one is usable (starting a
// background refresh if it is stale), a settled answer (a remembered refusal, an expired
// token with nothing to refresh it, a closed engine), and ok=false when the caller would
// have to wait for a refresh.
func (e *Engine) TryGetToken() (tok ServiceToken, err error, ok bool) {
	if ent := e.cur.Load(); ent.freshAt(e.now()) {
		return ent.svc, ent.verifyErr, true
	}
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	ent := e.cur.Load()
	switch e.stateLocked(now, ent) {
	case stale:
		e.startFlightLocked(ent, ReasonStale)
		return ent.svc, ent.verifyErr, true
	case fresh, staleHeld: // fresh again when another caller's refresh landed meanwhile
		return ent.svc, ent.verifyErr, true
	case denied:
		return ServiceToken{}, e.denial.err, true
	case expired:
		return ServiceToken{}, newError(CodeExpiredToken, ""), true
	case closed:
		return ServiceToken{}, errClosed(), true
	}
	return ServiceToken{}, nil, false // due, refreshing
}

// errClosed is not retryable: a closed strategy never works again (upstream's code for a
// handle used after it was consumed).
func errClosed() *AuthError { return newError(CodeAlreadyConsumed, "") }

func (e *Engine) slow(ctx context.Context) (ServiceToken, error) {
	now := e.now()
	e.mu.Lock()
	ent := e.cur.Load()
	var f *flight
	switch e.stateLocked(now, ent) {
	case stale:
		e.startFlightLocked(ent, ReasonStale)
		fallthrough
	case fresh, staleHeld:
		e.mu.Unlock()
		return ent.svc, ent.verifyErr
	case denied:
		err := e.denial.err
		e.mu.Unlock()
		return ServiceToken{}, err
	case expired:
		e.mu.Unlock()
		return ServiceToken{}, newError(CodeExpiredToken, "")
	case closed:
		e.mu.Unlock()
		return ServiceToken{}, errClosed()
	case refreshing:
		f = e.flight
	case due:
		reason := ReasonExpired
		switch {
		case ent == nil:
			reason = ReasonInitial
		case ent.invalid:
			reason = ReasonForced
		}
		f = e.startFlightLocked(ent, reason)
	}
	onWait := e.onWait
	e.mu.Unlock()

	if onWait != nil {
		onWait()
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return ServiceToken{}, wrapError(CodeRequest, ctx.Err(), "gave up waiting for a token: "+ctx.Err().Error())
	}
	if f.err != nil {
		// A refresh that failed while a token was still usable leaves that token in place.
		if cur := e.cur.Load(); cur != nil && cur.usableAt(e.now()) {
			return cur.svc, cur.verifyErr
		}
		return ServiceToken{}, f.err
	}
	return f.result.svc, f.result.verifyErr
}

func (e *Engine) startFlightLocked(base *entry, reason RefreshReason) *flight {
	f := &flight{done: make(chan struct{})}
	e.flight = f
	go e.run(f, base, reason, e.saving)
	return f
}

// run performs one refresh. end is the only place a flight ends: it publishes the outcome,
// clears e.flight and wakes every waiter; the deferred block calls it on every other exit
// path, even a panic. A new token wakes its waiters once installed, before the store save
// (docs/architecture.md D3): a slow save never fails a caller whose token was minted. prevSave is the
// previous refresh's save: this one waits for it, so a credential is persisted before
// anyone refreshes from it.
func (e *Engine) run(f *flight, base *entry, reason RefreshReason, prevSave <-chan struct{}) {
	start := e.cfg.clock.Now()
	source := SourceNetwork
	var saved chan struct{} // set when the new token still has to be saved after end
	ended := false
	end := func() {
		ended = true
		e.mu.Lock()
		e.flight = nil
		if saved != nil {
			e.saving = saved
		}
		if f.err != nil {
			e.recordFailureLocked(f.err, reason)
		}
		// A stale token served from the store still needs its refresh.
		if cur := e.cur.Load(); f.err == nil && source == SourceStore && e.stateLocked(e.now(), cur) == stale {
			e.startFlightLocked(cur, ReasonStale)
		}
		e.mu.Unlock()
		// The outcome is reported before waiters wake, so a caller never returns ahead
		// of the event that explains its result.
		ev := Event{Reason: reason, Source: source, Latency: e.cfg.clock.Now().Sub(start)}
		if f.err != nil {
			ev.Kind, ev.ErrorCode = RefreshFailed, AsAuthError(f.err).Code
		} else {
			ev.Kind, ev.Generation = RefreshSucceeded, f.result.gen
		}
		e.emit(ev)
		close(f.done)
	}
	defer func() {
		p := recover()
		if p != nil && !ended {
			// Only the type: a panic value from a store or hook could hold a secret.
			f.result, f.err = nil, NewInternalError(fmt.Sprintf("refresh panicked (%T)", p))
		} else if p != nil {
			e.cfg.logger.Error("token store save panicked", "panic", fmt.Sprintf("%T", p))
		}
		if !ended {
			end()
		}
	}()
	e.emit(Event{Kind: RefreshStarted, Reason: reason})

	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.refreshTimeout)
	defer cancel()

	if prevSave != nil {
		select {
		case <-prevSave:
		case <-ctx.Done():
			f.err = wrapError(CodeRequest, ctx.Err(), "the previous token's save did not finish: "+ctx.Err().Error())
			return
		}
	}

	var baseTok *Token
	if base != nil {
		baseTok = base.tok
	} else {
		// Cold start: the store may hold a token (another instance or process minted it,
		// or another strategy of this process is saving one right now).
		waitStoreSaves(ctx, e.store)
		if t := e.loadFromStore(ctx); t != nil {
			if t.IsUsableAt(e.now()) {
				source = SourceStore
				f.result = e.install(t, false)
				return
			}
			baseTok = t // expired, but it may carry a refresh credential
		}
		if !e.r.canRefresh(baseTok) {
			f.err = newError(CodeNotAuthenticated, "")
			return
		}
	}

	// A store shared with other processes: take its lock, and use what another process
	// saved meanwhile instead of asking the server again.
	var unlock func() // held until the new token is saved: other processes then see it
	defer func() {
		if unlock != nil {
			unlock()
		}
	}()
	if ls, ok := e.store.(LockingStore); ok {
		var shared *Token
		unlock, shared = e.lockAndReload(ctx, ls, baseTok)
		if shared != nil {
			source = SourceStore
			f.result = e.install(shared, true)
			return
		}
	}

	tok, err := e.r.refresh(ctx, baseTok)
	if err != nil {
		f.err = AsAuthError(err)
		if errors.Is(err, errConsumed) && base != nil {
			e.markSpent(base)
			e.cfg.logger.Error("refreshed token could not be persisted; its refresh credential is spent", "code", CodeStore)
		}
		return
	}
	if e.ctx.Err() != nil {
		// Closed while the answer was on its way (Close's cancel and the answer can race): a
		// closed strategy installs and saves nothing. A device session's refresher has
		// already saved its rotated token itself.
		f.err = errClosed()
		return
	}
	f.result = e.install(tok, true)
	saved = make(chan struct{})
	defer beginMustFinish()() // Flush waits for in-flight saves (and the unlock) too
	defer beginStoreSave(e.store)()
	defer close(saved)
	end()
	// The token is already handed out: Close must not cancel its save (the next process
	// would mint another), so it runs on its own, still bounded by the refresh deadline.
	saveCtx, cancelSave := detached(ctx)
	defer cancelSave()
	e.saveToStore(saveCtx, tok)
	if unlock != nil {
		unlock()
		unlock = nil
	}
}

// lockAndReload takes the store's lock (waiting at most lockWait) and re-reads it. It
// returns the unlock function (nil when the lock could not be had: the refresh then goes on
// locally) and a token another process saved that is fresh and is not base.
func (e *Engine) lockAndReload(ctx context.Context, ls LockingStore, base *Token) (func(), *Token) {
	lockCtx, cancel := context.WithTimeout(ctx, lockWait)
	defer cancel()
	unlock, err := ls.Lock(lockCtx)
	if err != nil {
		e.cfg.logger.Warn("token store lock unavailable; refreshing locally", "error", err)
		e.emit(Event{Kind: StoreDegraded, ErrorCode: AsAuthError(err).Code})
		return nil, nil
	}
	t := e.loadFromStore(ctx)
	if t != nil && e.now() < e.freshUntil(t, serviceTokenFrom(t), e.now()) &&
		(base == nil || !t.AccessToken.Equal(base.AccessToken)) {
		return unlock, t
	}
	return unlock, nil
}

func (e *Engine) loadFromStore(ctx context.Context) *Token {
	t, err := e.store.Load(ctx)
	if err != nil {
		e.cfg.logger.Warn("token store load failed", "error", err)
		e.emit(Event{Kind: StoreDegraded, ErrorCode: AsAuthError(err).Code})
		return nil
	}
	return t
}

func (e *Engine) saveToStore(ctx context.Context, t *Token) {
	if err := e.store.Save(ctx, t); err != nil {
		e.cfg.logger.Warn("token store save failed", "error", err)
		e.emit(Event{Kind: StoreDegraded, ErrorCode: AsAuthError(err).Code})
	}
}

// install publishes t; refreshed says it is a new token (which clears remembered refusals
// and backoff) rather than one served as it was.
func (e *Engine) install(t *Token, refreshed bool) *entry {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.installLocked(t, refreshed)
}

func (e *Engine) installLocked(t *Token, refreshed bool) *entry {
	e.gen++
	ent := e.entryFor(t)
	if e.closed {
		return ent // a refresh that finished after Close publishes nothing
	}
	e.cur.Store(ent)
	if refreshed {
		e.denial, e.failures, e.retryAt = nil, 0, time.Time{}
	}
	return ent
}

// entryFor precomputes every decision about t, so the fresh path is a load and a compare.
func (e *Engine) entryFor(t *Token) *entry {
	now := e.now()
	svc := serviceTokenFrom(t)
	ent := &entry{tok: t, svc: svc, freshUntil: e.freshUntil(t, svc, now), gen: e.gen}
	if e.verify != nil {
		ent.verifyErr = e.verify(svc)
	}
	return ent
}

// freshUntil is when t enters its refresh window.
func (e *Engine) freshUntil(t *Token, svc ServiceToken, now uint64) uint64 {
	return t.ExpiresAt - min(t.ExpiresAt, e.window(t, svc, now))
}

// window is how long before expiry a token counts as stale: upstream's 90 s leeway, but
// never more than half the token's lifetime, so a 60 s token is not refreshed on every
// call. The lifetime runs from the JWT's iat when it has a sensible one, else from now.
func (e *Engine) window(t *Token, svc ServiceToken, now uint64) uint64 {
	issued := now
	if svc.c != nil {
		if iat, ok := numericClaim(svc.c.Iat); ok && iat <= now && iat < t.ExpiresAt {
			issued = iat
		}
	}
	lifetime := t.ExpiresAt - min(t.ExpiresAt, issued)
	return min(e.cfg.leeway, lifetime/2)
}

// markSpent republishes the current entry as spent if it still holds base's token, even
// when Invalidate has replaced the entry meanwhile (a CAS, as Invalidate's is): a spent
// refresh token must never be sent again, and a 401 must not be undone.
func (e *Engine) markSpent(base *entry) {
	for {
		cur := e.cur.Load()
		if cur == nil || cur.tok != base.tok {
			return // a newer token replaced it
		}
		spent := *cur
		spent.spent = true
		if e.cur.CompareAndSwap(cur, &spent) {
			return
		}
	}
}

// recordFailureLocked remembers account refusals for DenialTTL and backs off background
// refreshes of a still-usable token with jittered exponential delays.
func (e *Engine) recordFailureLocked(err error, reason RefreshReason) {
	now := e.now()
	ae := AsAuthError(err)
	if ae.IsAccountRefusal() {
		e.denial = &denial{err: ae, at: now}
	}
	if reason == ReasonStale {
		e.failures++
		backoff := min(backoffMax, backoffBase<<min(e.failures-1, 16))
		jittered := backoff/2 + time.Duration(e.cfg.rand()*float64(backoff/2))
		e.retryAt = e.cfg.clock.Now().Add(jittered)
		e.cfg.logger.Warn("background token refresh failed; serving the current token", "code", ae.Code, "retry_in", jittered)
	}
}

// Invalidate reports that the server rejected token (a 401). It forces a refresh only if
// token is still the current one, so a late 401 never throws away a newer token.
func (e *Engine) Invalidate(token SecretToken) bool {
	for {
		ent := e.cur.Load()
		if ent == nil || ent.invalid || !ent.tok.AccessToken.Equal(token) {
			return false
		}
		inv := *ent
		inv.invalid, inv.freshUntil = true, 0
		if e.cur.CompareAndSwap(ent, &inv) {
			e.emit(Event{Kind: TokenInvalidated, Generation: ent.gen})
			return true
		}
	}
}

// Close stops any refresh in progress and makes later calls fail. Idempotent. A device
// session's exchange that may already have reached the server is the exception: it
// finishes and is saved in the background (Flush waits for it).
func (e *Engine) Close() {
	e.mu.Lock()
	e.closed = true
	e.cur.Store(nil) // the lock-free path too must stop serving
	e.mu.Unlock()
	e.cancel()
}

// Current returns the cached token model (a copy), or nil.
func (e *Engine) current() *Token {
	if ent := e.cur.Load(); ent != nil {
		return ent.tok.Clone()
	}
	return nil
}

func (e *Engine) emit(ev Event) {
	if e.cfg.events == nil {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			e.cfg.logger.Error("event hook panicked", "panic", fmt.Sprint(p))
		}
	}()
	e.cfg.events(ev)
}

func defaultRand() float64 { return rand.Float64() }
