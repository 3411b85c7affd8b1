package main

/*
#include "shim.h"
*/
import "C"

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"
	"unsafe"

	stackauth "github.com/stackauth/stack-auth/core"
	"golang.org/x/sync/singleflight"
)

// A host hook does not return its answer: it completes an sa_request, once, from any
// thread, now or later (rule R9: FFIs turn a callback's exception into a zero return).

// callbackError is a hook's rejection; callers see SA_E_CALLBACK with its code.
type callbackError struct{ err *stackauth.AuthError }

func (c *callbackError) Error() string { return c.err.Message }
func (c *callbackError) Unwrap() error { return c.err }

type answer struct {
	value []byte
	err   error
}

// request is one pending hook call; done is buffered so a completion never blocks. scope
// is the credential a store's load or save is for (sa_request_scope); "" for other hooks.
type request struct {
	done  chan answer
	once  sync.Once
	scope string
}

func (r *request) complete(a answer) bool {
	ok := false
	r.once.Do(func() { r.done <- a; ok = true })
	return ok
}

// hook is a host function with its user_data and destroy. destroy runs exactly once,
// after the last call of the function, when every owner has released the hook.
type hook struct {
	mu        sync.Mutex
	userData  C.uintptr_t // the host's void *, opaque to Go (it may be a small integer)
	destroy   C.sa_destroy_fn
	refs      int // owners: the handle, plus strategies using a store
	running   int // calls of the host function in progress
	destroyed bool
}

func newHook(userData C.uintptr_t, destroy C.sa_destroy_fn) *hook {
	return &hook{userData: userData, destroy: destroy, refs: 1}
}

func (h *hook) retain() {
	h.mu.Lock()
	h.refs++
	h.mu.Unlock()
}

func (h *hook) release() {
	h.mu.Lock()
	h.refs--
	h.maybeDestroyLocked()
}

// maybeDestroyLocked unlocks h.mu and calls destroy if nothing holds the hook any more.
func (h *hook) maybeDestroyLocked() {
	run := h.refs <= 0 && h.running == 0 && !h.destroyed
	if run {
		h.destroyed = true
	}
	h.mu.Unlock()
	if run {
		C.sashim_call_destroy(h.destroy, h.userData)
	}
}

// ask registers a request, calls the host function with it on a library goroutine (so it
// never runs on the caller's thread nor under a lock), and waits for the completion, the
// caller's context, or the hook's timeout.
func (h *hook) ask(ctx context.Context, timeout time.Duration, call func(userData C.uintptr_t, req C.sa_request)) ([]byte, error) {
	h.mu.Lock()
	if h.refs <= 0 {
		h.mu.Unlock()
		return nil, errHandleFreed
	}
	h.running++
	h.mu.Unlock()

	req := &request{done: make(chan answer, 1), scope: stackauth.StoreScope(ctx)}
	id := handles.add(req)
	defer handles.remove(id)

	go func() {
		defer func() {
			recover() // a panic here cannot come from the host's C code; keep the process alive
			h.mu.Lock()
			h.running--
			h.maybeDestroyLocked()
		}()
		call(h.userData, C.sa_request(id))
	}()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case a := <-req.done:
		return a.value, a.err
	case <-timer.C:
		return nil, &failure{status: saETimeout, err: customCode("TIMEOUT", "the host hook did not complete its request in time")}
	case <-ctx.Done():
		if errors.Is(context.Cause(ctx), errHandleFreed) {
			return nil, cancelled("the host hook's request")
		}
		return nil, ctx.Err()
	}
}

// maxHookValue bounds what a hook may hand back: tokens and stored token JSON are a few KiB.
const maxHookValue = 16 << 20

//export sago_request_resolve
func sago_request_resolve(r C.sa_request, value *C.sa_cchar, length C.size_t) (status C.sa_status) {
	defer guard(&status)
	if value == nil && length > 0 {
		return invalidArg("value must not be NULL when len > 0")
	}
	req, ok := lookup[*request](uint64(r))
	if !ok {
		return invalidHandle("request")
	}
	if length > maxHookValue {
		return invalidArg("value is longer than %d bytes", maxHookValue)
	}
	var data []byte
	if length > 0 {
		data = bytes.Clone(unsafe.Slice((*byte)(unsafe.Pointer(value)), int(length)))
	}
	if !req.complete(answer{value: data}) {
		return invalidHandle("request")
	}
	return saOK
}

//export sago_request_scope
func sago_request_scope(r C.sa_request, out **C.char, outLen *C.size_t) (status C.sa_status) {
	defer guard(&status)
	if out == nil {
		return invalidArg("out must not be NULL")
	}
	req, ok := lookup[*request](uint64(r))
	if !ok {
		return invalidHandle("request")
	}
	if req.scope == "" {
		return invalidArg("only the request of a store's load or save hook has a scope")
	}
	return setString(out, outLen, req.scope)
}

//export sago_request_reject
func sago_request_reject(r C.sa_request, code, message *C.sa_cchar) (status C.sa_status) {
	defer guard(&status)
	c, st := goString(code, "code", false)
	if st != saOK {
		return st
	}
	m, st := goString(message, "message", false)
	if st != saOK {
		return st
	}
	req, ok := lookup[*request](uint64(r))
	if !ok {
		return invalidHandle("request")
	}
	if c == "" {
		c = stackauth.CodeCustom
	}
	if m == "" {
		m = "the host hook rejected the request"
	}
	ae := stackauth.FromErrorCode(c, m, nil)
	if ae.Code == stackauth.CodeCustom && c != stackauth.CodeCustom {
		ae.Code = c // keep the host's code (e.g. its own exception name) with its message
	}
	if !req.complete(answer{err: &callbackError{err: ae}}) {
		return invalidHandle("request")
	}
	return saOK
}

// tokenHook asks a get-token hook for a string: the bearer token of an AuthStrategyFn, or
// the OIDC provider's JWT. Concurrent callers share one request (at most one in flight).
type tokenHook struct {
	*hook
	fn      C.sa_get_token_fn
	timeout time.Duration
	life    context.Context // the strategy's: ends when its handle is freed
	flight  singleflight.Group
}

func (t *tokenHook) get(ctx context.Context) (stackauth.SecretToken, error) {
	ch := t.flight.DoChan("", func() (any, error) {
		// Detached from any one caller (others may share this request), not from the handle.
		value, err := t.ask(t.life, t.timeout, func(ud C.uintptr_t, req C.sa_request) {
			C.sashim_call_get_token(t.fn, ud, req)
		})
		if err != nil {
			return nil, err
		}
		defer clear(value)
		if len(value) == 0 {
			return nil, &callbackError{err: stackauth.NewCustomError("the host hook resolved with an empty token")}
		}
		return stackauth.NewSecretToken(string(value)), nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return stackauth.SecretToken{}, r.Err
		}
		return r.Val.(stackauth.SecretToken), nil
	case <-ctx.Done():
		return stackauth.SecretToken{}, ctx.Err()
	}
}

// storeObj is an sa_store: a core TokenStore, with the hook behind it for sa_store_fn_new.
type storeObj struct {
	store stackauth.TokenStore
	hook  *hook // nil for built-in stores
}

func (s *storeObj) retain() {
	if s.hook != nil {
		s.hook.retain()
	}
}

func (s *storeObj) release() {
	if s.hook != nil {
		s.hook.release()
	}
}

// fnStore adapts load/save hooks into a core TokenStore. Calls are serialised per store.
type fnStore struct {
	*hook
	load    C.sa_store_load_fn
	save    C.sa_store_save_fn
	timeout time.Duration
	mu      sync.Mutex
}

func (s *fnStore) Load(ctx context.Context) (*stackauth.Token, error) {
	if s.load == nil {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	value, err := s.ask(ctx, s.timeout, func(ud C.uintptr_t, req C.sa_request) {
		C.sashim_call_load(s.load, ud, req)
	})
	if err != nil {
		return nil, err
	}
	defer clear(value)
	// TokenStoreFn's rule: JSON that does not decode is a silent miss.
	return stackauth.NewTokenStoreFn(func(context.Context) (string, error) { return string(value), nil }, nil).Load(ctx)
}

func (s *fnStore) Save(ctx context.Context, t *stackauth.Token) error {
	if s.save == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var saveErr error
	err := stackauth.NewTokenStoreFn(nil, func(ctx context.Context, tokenJSON string) error {
		_, saveErr = s.ask(ctx, s.timeout, func(ud C.uintptr_t, req C.sa_request) {
			// The JSON is borrowed for the duration of the call, then zeroed.
			p := C.sashim_borrow(tokenJSON)
			defer C.sashim_wipe_free(p, C.size_t(len(tokenJSON)))
			C.sashim_call_save(s.save, ud, req, p, C.size_t(len(tokenJSON)))
		})
		return saveErr
	}).Save(ctx, t)
	return err
}

//export sago_store_memory_new
func sago_store_memory_new(out *C.sa_store) (status C.sa_status) {
	defer guard(&status)
	if out == nil {
		return invalidArg("out must not be NULL")
	}
	*out = C.sa_store(handles.add(&storeObj{store: stackauth.NewInMemoryTokenStore()}))
	return saOK
}

//export sago_store_open
func sago_store_open(out *C.sa_store, url *C.sa_cchar) (status C.sa_status) {
	defer guard(&status)
	if out == nil {
		return invalidArg("out must not be NULL")
	}
	u, st := goString(url, "url", true)
	if st != saOK {
		return st
	}
	store, err := stackauth.OpenStore(u)
	if err != nil {
		return report(err)
	}
	*out = C.sa_store(handles.add(&storeObj{store: store}))
	return saOK
}

//export sago_store_fn_new_ex
func sago_store_fn_new_ex(out *C.sa_store, load C.sa_store_load_fn, save C.sa_store_save_fn, userData C.uintptr_t, destroy C.sa_destroy_fn, optionsJSON *C.sa_cchar) (status C.sa_status) {
	defer guard(&status)
	if out == nil {
		return invalidArg("out must not be NULL")
	}
	if load == nil && save == nil {
		return invalidArg("a store needs a load or a save hook")
	}
	p, st := parseTimeoutOnly(optionsJSON)
	if st != saOK {
		return st
	}
	h := newHook(userData, destroy)
	fs := &fnStore{hook: h, load: load, save: save, timeout: p.timeout}
	*out = C.sa_store(handles.add(&storeObj{store: fs, hook: h}))
	return saOK
}

//export sago_store_free
func sago_store_free(st C.sa_store) {
	defer func() { recover() }()
	if v, ok := lookup[*storeObj](uint64(st)); ok {
		if _, removed := handles.remove(uint64(st)); removed {
			v.release()
		}
	}
}
