package main

/*
#include "shim.h"
*/
import "C"

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	stackauth "github.com/stackauth/stack-auth/core"
)

// A host hook does not return its answer: it completes an sa_request, once, from any
// thread, now or later (docs/c-abi.md R9: FFIs turn a callback's exception into a zero return).

// callbackError is a hook's rejection; callers see SA_E_CALLBACK with its code.
type callbackError struct{ err *stackauth.AuthError }

func (c *callbackError) Error() string { return c.err.Message }
func (c *callbackError) Unwrap() error { return c.err }

type answer struct {
	value []byte
	resp  *stackauth.HTTPResponse // a transport request's answer (sa_request_respond)
	err   error
}

// request is one pending hook call; done is buffered so a completion never blocks. check
// (may be nil) refuses a value before it completes the request. scope is the credential a
// store's load or save is for (sa_request_scope); "" for other hooks.
type request struct {
	done  chan answer
	once  sync.Once
	check func([]byte) string
	scope string
	http  bool // a transport request: answered by sa_request_respond, not resolve
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

// retain adds an owner; it fails once the hook is destroyed (its last owner let go), so a
// hook is never brought back to life.
func (h *hook) retain() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refs <= 0 {
		return false
	}
	h.refs++
	return true
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

// ask calls a store hook with a new request on a library goroutine (a store hook may block
// in its call, as the Ruby binding's do: it must never hold up the engine's caller past its
// timeout) and waits for the completion, ctx, or the hook's timeout. check (may be nil) vets
// the value the host resolves with.
func (h *hook) ask(ctx context.Context, timeout time.Duration, check func([]byte) string, call func(userData C.uintptr_t, req C.sa_request)) ([]byte, error) {
	a, err := h.askRequest(ctx, timeout, &request{check: check}, call)
	return a.value, err
}

// askRequest is ask with the request given (its check and kind set by the caller), and the
// whole answer returned.
func (h *hook) askRequest(ctx context.Context, timeout time.Duration, req *request, call func(userData C.uintptr_t, req C.sa_request)) (answer, error) {
	id, err := h.start(ctx, req, call, false)
	if err != nil {
		return answer{}, err
	}
	defer handles.remove(id)
	return req.await(ctx, timeout)
}

// start registers req (its check and kind set by the caller) and calls the host function
// with it: here, on the thread that asked, when here is true (a get-token hook that resolves
// inside its call then costs about a function call), else on a library goroutine. The caller
// removes the request's handle once it has its answer.
func (h *hook) start(ctx context.Context, req *request, call func(userData C.uintptr_t, req C.sa_request), here bool) (uint64, error) {
	h.mu.Lock()
	if h.refs <= 0 {
		h.mu.Unlock()
		return 0, errHandleFreed
	}
	h.running++
	h.mu.Unlock()

	req.done, req.scope = make(chan answer, 1), stackauth.StoreScope(ctx)
	id := handles.add(req)
	run := func() {
		defer func() {
			recover() // a panic here cannot come from the host's C code; keep the process alive
			h.mu.Lock()
			h.running--
			h.maybeDestroyLocked()
		}()
		// The goroutine may start after its owner was freed or the caller gave up: then the
		// host is not called (a freed strategy's hook is never called after free returns).
		h.mu.Lock()
		live := h.refs > 0 && ctx.Err() == nil
		h.mu.Unlock()
		if !live {
			req.complete(answer{err: errHandleFreed})
			return
		}
		call(h.userData, C.sa_request(id))
	}
	if here {
		run()
	} else {
		go run()
	}
	return id, nil
}

// answered returns the answer of a request the hook completed inside its call.
func (r *request) answered() (answer, bool) {
	select {
	case a := <-r.done:
		return a, true
	default:
		return answer{}, false
	}
}

func (r *request) await(ctx context.Context, timeout time.Duration) (answer, error) {
	if a, ok := r.answered(); ok {
		return a, a.err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case a := <-r.done:
		return a, a.err
	case <-timer.C:
		return answer{}, &failure{status: saETimeout, err: customCode("TIMEOUT", "the host hook did not complete its request in time")}
	case <-ctx.Done():
		if errors.Is(context.Cause(ctx), errHandleFreed) {
			return answer{}, cancelled("the host hook's request")
		}
		return answer{}, ctx.Err()
	}
}

// maxHookValue bounds what a hook may hand back: tokens and stored token JSON are a few KiB.
const maxHookValue = 16 << 20

//export sago_request_resolve
func sago_request_resolve(r C.sa_request, value *C.sa_cchar, length C.size_t) (status C.sa_status) {
	defer guard(&status)
	req, st := answerArg(r, value, length, "value", false, "a transport request is answered with sa_request_respond; the request is still open")
	if st != saOK {
		return st
	}
	if length > maxHookValue {
		return invalidArg("value is longer than %d bytes", maxHookValue)
	}
	data := bytes.Clone(cBytes(value, length))
	if req.check != nil {
		if problem := req.check(data); problem != "" {
			clear(data)
			return invalidArg("value %s; the request is still open", problem) // never the value itself
		}
	}
	if !req.complete(answer{value: data}) {
		return invalidHandle("request")
	}
	return saOK
}

// answerArg starts sa_request_resolve and sa_request_respond: the answer's bytes (name) must
// be given when length > 0, then r must be a pending request of the kind the call answers (a
// transport's when http), else the call fails with wrongKind.
func answerArg(r C.sa_request, p *C.sa_cchar, length C.size_t, name string, http bool, wrongKind string) (*request, C.sa_status) {
	if p == nil && length > 0 {
		return nil, invalidArg("%s must not be NULL when len > 0", name)
	}
	req, st := find[*request](r, "request")
	if st != saOK {
		return nil, st
	}
	if req.http != http {
		return nil, invalidArg("%s", wrongKind)
	}
	return req, saOK
}

//export sago_request_scope
func sago_request_scope(r C.sa_request, out **C.char, outLen *C.size_t) (status C.sa_status) {
	defer guard(&status)
	req, st := target[*request](out != nil, "out", r, "request")
	if st != saOK {
		return st
	}
	if req.scope == "" {
		return invalidArg("only the request of a store's load or save hook has a scope")
	}
	return setString(out, outLen, req.scope)
}

//export sago_request_reject
func sago_request_reject(r C.sa_request, code, message *C.sa_cchar) (status C.sa_status) {
	defer guard(&status)
	rejection, st := hostRejectionArg(code, message)
	if st != saOK {
		return st
	}
	req, st := find[*request](r, "request")
	if st != saOK {
		return st
	}
	if !req.complete(answer{err: rejection}) {
		return invalidHandle("request")
	}
	return saOK
}

// hostRejectionArg is hostRejection of a call's code and message arguments (either may be NULL).
func hostRejectionArg(code, message *C.sa_cchar) (*callbackError, C.sa_status) {
	var c, m string
	if st := goStrings(cString{&c, code, "code", false}, cString{&m, message, "message", false}); st != saOK {
		return nil, st
	}
	return hostRejection(c, m), saOK
}

// hostRejection is the error of a host function that failed with code and message.
func hostRejection(c, m string) *callbackError {
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
	return &callbackError{err: ae}
}

// tokenHook asks a get-token hook for a string: the bearer token of an AuthStrategyFn, or
// the OIDC provider's JWT. Concurrent callers share one request through core's SharedCall
// (as Go's AuthStrategyFn does); the first caller calls the hook on its own thread, so a hook
// that resolves inside its call answers without a thread hop.
type tokenHook struct {
	*hook
	fn      C.sa_get_token_fn
	timeout time.Duration
	life    context.Context // the strategy's: ends when its handle is freed
	// sendEmpty passes an empty answer on (an OIDC provider's JWT: as upstream, it is sent
	// and the server's answer reported); otherwise an empty bearer token is the hook's error.
	sendEmpty bool

	calls stackauth.SharedCall[stackauth.SecretToken]
}

type tokenCall = stackauth.Call[stackauth.SecretToken]

func (t *tokenHook) get(ctx context.Context) (stackauth.SecretToken, error) {
	return t.calls.Join(t.lead).Wait(ctx)
}

// getWithin is get for sa_get_token: a deadline (a timer) is made only when the hook did not
// answer inside its call, so the synchronous round trip stays about a function call.
func (t *tokenHook) getWithin(life context.Context, timeout time.Duration) (stackauth.SecretToken, error) {
	c := t.calls.Join(t.lead)
	if tok, err, ok := c.Result(); ok {
		if err != nil {
			return tok, waitError(life, err, "a token")
		}
		return tok, nil
	}
	ctx, cancel := context.WithTimeout(life, timeout)
	defer cancel()
	tok, err := c.Wait(ctx)
	if err != nil {
		return tok, waitError(ctx, err, "a token")
	}
	return tok, nil
}

// lead calls the hook; a late answer is awaited on a goroutine bound to the handle's life
// and the hook's timeout, never to one caller (others may share the request).
func (t *tokenHook) lead(c *tokenCall) {
	req := &request{check: tokenProblem}
	id, err := t.start(t.life, req, func(ud C.uintptr_t, r C.sa_request) { C.sashim_call_get_token(t.fn, ud, r) }, true)
	if err != nil {
		t.finish(c, nil, err)
		return
	}
	if a, ok := req.answered(); ok {
		handles.remove(id)
		t.finish(c, a.value, a.err)
		return
	}
	go func() {
		defer handles.remove(id)
		a, err := req.await(t.life, t.timeout)
		t.finish(c, a.value, err)
	}()
}

func (t *tokenHook) finish(c *tokenCall, value []byte, err error) {
	defer clear(value)
	switch {
	case err != nil:
		c.Finish(stackauth.SecretToken{}, err)
	case len(value) == 0 && !t.sendEmpty:
		c.Finish(stackauth.SecretToken{}, &callbackError{err: stackauth.NewCustomError("the host hook resolved with an empty token")})
	default:
		c.Finish(stackauth.NewSecretTokenBytes(value), nil)
	}
}

// hookStrategy is the AuthStrategy of sa_strategy_fn_new: a get-token hook's bearer token.
type hookStrategy struct{ *tokenHook }

func (h hookStrategy) GetToken(ctx context.Context) (stackauth.ServiceToken, error) {
	tok, err := h.get(ctx)
	if err != nil {
		return stackauth.ServiceToken{}, err
	}
	return stackauth.NewServiceToken(tok), nil
}

// storeObj is an sa_store: a core TokenStore, with the hook behind it for sa_store_fn_new.
type storeObj struct {
	store stackauth.TokenStore
	hook  *hook        // nil for built-in stores
	refs  atomic.Int64 // the handle plus each strategy using the store
}

func newStoreObj(store stackauth.TokenStore, h *hook) *storeObj {
	s := &storeObj{store: store, hook: h}
	s.refs.Store(1)
	return s
}

// retain takes one more reference; false when the store is already closed (its last
// reference was released), so a freed handle is never revived.
func (s *storeObj) retain() bool {
	for {
		n := s.refs.Load()
		if n <= 0 {
			return false
		}
		if s.refs.CompareAndSwap(n, n+1) {
			break
		}
	}
	if s.hook != nil && !s.hook.retain() {
		s.refs.Add(-1)
		return false
	}
	return true
}

// retainStore takes a strategy's reference to store handle h. It holds h's registry shard
// meanwhile, so a racing sa_store_free either comes first (the handle is gone: false) or
// after (the reference keeps the store alive).
func retainStore(h uint64) (*storeObj, bool) {
	s := handles.shard(h)
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, ok := s.m[h].(*storeObj)
	return st, ok && st.retain()
}

// release drops one reference; the last one closes the store (a Redis client and its
// connections).
func (s *storeObj) release() {
	if s.hook != nil {
		s.hook.release()
	}
	if s.refs.Add(-1) == 0 {
		if c, ok := s.store.(io.Closer); ok {
			_ = c.Close()
		}
	}
}

// fnStore adapts load/save hooks into a core TokenStore. Calls are not serialised: a hook
// may itself get a token from another strategy sharing the store, whose load must not wait
// for this one (no library lock is held while a hook runs).
type fnStore struct {
	*hook
	load    C.sa_store_load_fn
	save    C.sa_store_save_fn
	timeout time.Duration
}

func (s *fnStore) Load(ctx context.Context) (*stackauth.Token, error) {
	if s.load == nil {
		return nil, nil
	}
	value, err := s.ask(ctx, s.timeout, storedJSONProblem, func(ud C.uintptr_t, req C.sa_request) {
		C.sashim_call_load(s.load, ud, req)
	})
	if err != nil {
		return nil, err
	}
	defer clear(value)
	// TokenStoreFn's rule: JSON that does not decode is a silent miss; so is a token that
	// could not be sent (the token rule of sa_request_resolve).
	t, err := stackauth.NewTokenStoreFn(func(context.Context) (string, error) { return string(value), nil }, nil).Load(ctx)
	if t != nil {
		bad := false
		t.AccessToken.Use(func(v string) { bad = tokenProblem(unsafe.Slice(unsafe.StringData(v), len(v))) != "" })
		if bad {
			return nil, nil
		}
	}
	return t, err
}

func (s *fnStore) Save(ctx context.Context, t *stackauth.Token) error {
	if s.save == nil {
		return nil
	}
	var saveErr error
	err := stackauth.NewTokenStoreFn(nil, func(ctx context.Context, tokenJSON string) error {
		_, saveErr = s.ask(ctx, s.timeout, nil, func(ud C.uintptr_t, req C.sa_request) {
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
	return put(out, newStoreObj(stackauth.NewInMemoryTokenStore(), nil))
}

//export sago_store_open
func sago_store_open(out *C.sa_store, url *C.sa_cchar) (status C.sa_status) {
	defer guard(&status)
	u, st := outString(out != nil, url, "url")
	if st != saOK {
		return st
	}
	store, err := stackauth.OpenStore(u, stackauth.WithLookupEnv(lookupEnv)) // SSL_CERT_FILE: the host's
	if err != nil {
		return report(err)
	}
	return put(out, newStoreObj(store, nil))
}

//export sago_store_fn_new_ex
func sago_store_fn_new_ex(out *C.sa_store, load C.sa_store_load_fn, save C.sa_store_save_fn, userData C.uintptr_t, destroy C.sa_destroy_fn, optionsJSON *C.sa_cchar) (status C.sa_status) {
	defer guard(&status)
	h, timeout, st := hookArgs(userData, destroy, optionsJSON,
		check{out == nil, "out must not be NULL"}, check{load == nil && save == nil, "a store needs a load or a save hook"})
	if st != saOK {
		return st
	}
	return put(out, newStoreObj(&fnStore{hook: h, load: load, save: save, timeout: timeout}, h))
}

//export sago_store_free
func sago_store_free(st C.sa_store) {
	defer func() { recover() }()
	freeHandle(st, (*storeObj).release)
}

// tokenProblem says why v cannot be a bearer token (it is sent as one HTTP header line), or
// "". It describes, never quotes, the value.
func tokenProblem(v []byte) string {
	if problem := storedJSONProblem(v); problem != "" {
		return problem
	}
	if bytes.ContainsAny(v, "\r\n") {
		return "contains a line break (CR or LF); a token is one line"
	}
	return ""
}

// storedJSONProblem is the rule for stored token JSON: UTF-8 without NUL (line breaks are JSON
// whitespace; the token inside is checked by tokenProblem once decoded).
func storedJSONProblem(v []byte) string {
	switch {
	case !utf8.Valid(v):
		return "is not valid UTF-8"
	case bytes.IndexByte(v, 0) >= 0:
		return "contains a NUL byte"
	}
	return ""
}
