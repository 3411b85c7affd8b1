package main

/*
#include "shim.h"
*/
import "C"

import (
	"context"
	"time"

	stackauth "github.com/stackauth/stack-auth/core"
)

// strategyObj is an sa_strategy.
type strategyObj struct {
	s       stackauth.AuthStrategy
	timeout time.Duration
	life    context.Context // cancelled (cause errHandleFreed) when the handle is freed
	end     context.CancelCauseFunc
	owned   []interface{ release() } // hooks and stores this strategy keeps alive
	fn      *tokenHook               // an AuthStrategyFn's hook (sa_strategy_fn_new)
	events  *eventSink               // nil without a refresh engine
}

func newStrategy(s stackauth.AuthStrategy, p *parsed) *strategyObj {
	life, end := context.WithCancelCause(context.Background())
	o := &strategyObj{s: s, timeout: p.timeout, life: life, end: end, events: p.events}
	if p.store != nil {
		o.owned = append(o.owned, p.store)
	}
	if p.transport != nil {
		o.owned = append(o.owned, p.transport)
	}
	return o
}

func (o *strategyObj) close() {
	o.end(errHandleFreed)
	if o.events != nil {
		o.events.close()
	}
	if c, ok := o.s.(interface{ Close() }); ok {
		c.Close()
	}
	release := func() {
		for _, r := range o.owned {
			r.release()
		}
	}
	if !stackauth.Pending() {
		release()
		return
	}
	// A save (or a device session's exchange) still in flight may use the store: let go of
	// it once that is done, and return at once.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), stackauth.FlushTimeout)
		defer cancel()
		_ = stackauth.Flush(ctx)
		release()
	}()
}

// tokenObj is an sa_token.
type tokenObj struct{ tok stackauth.ServiceToken }

// build parses options_json, builds the strategy and registers it; when building fails, it
// releases what the options retained (a store reference).
func build[S stackauth.AuthStrategy](out *C.sa_strategy, optionsJSON *C.sa_cchar, make func([]stackauth.Option) (S, error)) C.sa_status {
	if out == nil {
		return invalidArg("out must not be NULL")
	}
	p, st := parseOptions(optionsJSON)
	if st != saOK {
		return st
	}
	s, err := make(p.core)
	if err != nil {
		p.release()
		return report(err)
	}
	return put(out, newStrategy(s, p))
}

//export sago_auto_strategy_detect
func sago_auto_strategy_detect(out *C.sa_strategy, optionsJSON *C.sa_cchar) (status C.sa_status) {
	defer guard(&status)
	return build(out, optionsJSON, func(o []stackauth.Option) (*stackauth.AutoStrategy, error) {
		return stackauth.DetectAutoStrategy(o...)
	})
}

//export sago_access_key_strategy_new
func sago_access_key_strategy_new(out *C.sa_strategy, workspaceCrn, accessKey, optionsJSON *C.sa_cchar) (status C.sa_status) {
	defer guard(&status)
	var crn, key string
	if st := goStrings(cString{&crn, workspaceCrn, "workspace_crn", true}, cString{&key, accessKey, "access_key", true}); st != saOK {
		return st
	}
	return build(out, optionsJSON, func(o []stackauth.Option) (*stackauth.AccessKeyStrategy, error) {
		return stackauth.NewAccessKeyStrategy(crn, key, o...)
	})
}

//export sago_device_session_strategy_from_profile
func sago_device_session_strategy_from_profile(out *C.sa_strategy, optionsJSON *C.sa_cchar) (status C.sa_status) {
	defer guard(&status)
	return build(out, optionsJSON, func(o []stackauth.Option) (*stackauth.DeviceSessionStrategy, error) {
		return stackauth.DeviceSessionStrategyFromProfile(o...)
	})
}

//export sago_static_token_strategy_new
func sago_static_token_strategy_new(out *C.sa_strategy, token *C.sa_cchar) (status C.sa_status) {
	defer guard(&status)
	t, st := outString(out != nil, token, "token")
	if st != saOK {
		return st
	}
	if t == "" {
		return invalidArg("token must not be empty")
	}
	if problem := tokenProblem([]byte(t)); problem != "" {
		return invalidArg("token %s", problem)
	}
	return put(out, newStrategy(stackauth.NewStaticTokenStrategy(t), &parsed{timeout: stackauth.DefaultWait}))
}

//export sago_strategy_fn_new_ex
func sago_strategy_fn_new_ex(out *C.sa_strategy, fn C.sa_get_token_fn, userData C.uintptr_t, destroy C.sa_destroy_fn, optionsJSON *C.sa_cchar) (status C.sa_status) {
	defer guard(&status)
	h, timeout, st := hookArgs(userData, destroy, optionsJSON, check{out == nil || fn == nil, "out and fn must not be NULL"})
	if st != saOK {
		return st
	}
	th := &tokenHook{hook: h, fn: fn, timeout: timeout}
	o := newStrategy(hookStrategy{th}, &parsed{timeout: timeout}) // no refresh engine, so no events
	o.fn = th
	th.life = o.life
	o.owned = append(o.owned, th.hook)
	return put(out, o)
}

//export sago_oidc_federation_strategy_new
func sago_oidc_federation_strategy_new(out *C.sa_strategy, workspaceCrn *C.sa_cchar, provider C.sa_get_token_fn, userData C.uintptr_t, destroy C.sa_destroy_fn, optionsJSON *C.sa_cchar) (status C.sa_status) {
	defer guard(&status)
	crn, st := outString(out != nil, workspaceCrn, "workspace_crn")
	if st != saOK {
		return st
	}
	p, st := parseOptions(optionsJSON)
	if st != saOK {
		return st
	}
	// Without a provider, every caller passes its JWT (sa_oidc_get_token_with_jwt).
	var th *tokenHook
	provide := stackauth.NoOidcProvider
	if provider != nil {
		th = &tokenHook{fn: provider, timeout: p.timeout, sendEmpty: true}
		provide = th.get
	}
	s, err := stackauth.NewOidcFederationStrategy(crn, provide, p.core...)
	if err != nil {
		p.release()
		return report(err)
	}
	o := newStrategy(s, p)
	if th != nil {
		th.hook = newHook(userData, destroy)
		th.life = o.life
		o.owned = append(o.owned, th.hook)
	} else {
		o.owned = append(o.owned, newHook(userData, destroy)) // destroy still runs once, at free
	}
	return put(out, o)
}

//export sago_strategy_free
func sago_strategy_free(s C.sa_strategy) {
	defer func() { recover() }()
	freeHandle(s, (*strategyObj).close)
}

//export sago_strategy_invalidate
func sago_strategy_invalidate(s C.sa_strategy, token C.sa_token, outRefreshing *C.int32_t) (status C.sa_status) {
	defer guard(&status)
	o, st := find[*strategyObj](s, "strategy")
	if st != saOK {
		return st
	}
	t, st := find[*tokenObj](token, "token")
	if st != saOK {
		return st
	}
	return o.invalidate(t.tok.Token(), outRefreshing)
}

//export sago_strategy_invalidate_value
func sago_strategy_invalidate_value(s C.sa_strategy, token *C.sa_cchar, length C.size_t, outRefreshing *C.int32_t) (status C.sa_status) {
	defer guard(&status)
	if token == nil || length == 0 || length > maxHookValue {
		return invalidArg("token must be a non-empty string of at most %d bytes", maxHookValue)
	}
	o, st := find[*strategyObj](s, "strategy")
	if st != saOK {
		return st
	}
	value := stackauth.NewSecretTokenBytes(cBytes(token, length))
	defer value.Zero()
	return o.invalidate(value, outRefreshing)
}

func (o *strategyObj) invalidate(token stackauth.SecretToken, outRefreshing *C.int32_t) C.sa_status {
	refreshing := false
	// AuthStrategyFn and static tokens cache nothing: there is nothing to invalidate.
	if c, ok := o.s.(stackauth.Invalidator); ok {
		refreshing = c.Invalidate(token)
	}
	setBool(outRefreshing, refreshing)
	return saOK
}

// callWait is a call's timeout_ms as core decides it (stackauth.CallWait: 0 is fallback),
// or the INVALID_ARGUMENT it reports.
func callWait(timeoutMs C.int32_t, fallback time.Duration) (time.Duration, C.sa_status) {
	d, err := stackauth.CallWait(int64(timeoutMs), fallback, host())
	if err != nil {
		return 0, report(&failure{status: saEInvalidArg, err: stackauth.AsAuthError(err)})
	}
	return d, saOK
}

// sago_check_timeout answers as callWait does, for a host's fast path that takes no timeout.
//
//export sago_check_timeout
func sago_check_timeout(timeoutMs C.int32_t) (status C.sa_status) {
	defer guard(&status)
	_, status = callWait(timeoutMs, 0)
	return status
}

// ready returns a token (or a settled error) available without waiting: a cached one, or
// a static one. ok is false when only waiting (a refresh, a host hook) would give one.
func (o *strategyObj) ready() (tok stackauth.ServiceToken, err error, ok bool) {
	switch c := o.s.(type) {
	case stackauth.CachingStrategy:
		return c.TryGetToken()
	case *stackauth.StaticTokenStrategy:
		tok, err = c.GetToken(context.Background())
		return tok, err, true
	}
	return tok, nil, false
}

func (o *strategyObj) getToken(timeout time.Duration) (stackauth.ServiceToken, error) {
	if o.fn != nil {
		tok, err := o.fn.getWithin(o.life, timeout)
		if err != nil {
			return stackauth.ServiceToken{}, err
		}
		return stackauth.NewServiceToken(tok), nil
	}
	ctx, cancel := context.WithTimeout(o.life, timeout)
	defer cancel()
	tok, err := o.s.GetToken(ctx)
	if err != nil {
		return tok, waitError(ctx, err, "a token")
	}
	return tok, nil
}

//export sago_get_token
func sago_get_token(out *C.sa_token, s C.sa_strategy, timeoutMs C.int32_t) (status C.sa_status) {
	defer guard(&status)
	o, timeout, st := strategyWait(out != nil, "out", s, timeoutMs)
	if st != saOK {
		return st
	}
	// A cached token needs no deadline: a context per call was most of this call's cost.
	if tok, err, ready := o.ready(); ready && err == nil {
		return putToken(out, tok)
	}
	tok, err := o.getToken(timeout)
	if err != nil {
		return report(err)
	}
	return putToken(out, tok)
}

//export sago_get_token_value
func sago_get_token_value(s C.sa_strategy, timeoutMs C.int32_t, out **C.char, outLen *C.size_t) (status C.sa_status) {
	defer guard(&status)
	o, timeout, st := strategyWait(out != nil, "out", s, timeoutMs)
	if st != saOK {
		return st
	}
	tok, err, ready := o.ready()
	if !ready || err != nil {
		if tok, err = o.getToken(timeout); err != nil {
			return report(err)
		}
	}
	tok.Token().Use(func(secret string) { status = setString(out, outLen, secret) })
	return status
}

//export sago_try_get_token
func sago_try_get_token(out *C.sa_token, s C.sa_strategy) (status C.sa_status) {
	defer guard(&status)
	o, st := target[*strategyObj](out != nil, "out", s, "strategy")
	if st != saOK {
		return st
	}
	tok, err, ready := o.ready()
	if !ready {
		return fail(saEWouldBlock, "WOULD_BLOCK", "no usable token without waiting; use sa_get_token_async")
	}
	if err != nil {
		if o.life.Err() != nil { // freed meanwhile: the engine's "closed" is the free's doing
			return report(cancelled("a token"))
		}
		return report(err)
	}
	return putToken(out, tok)
}

//export sago_get_token_async
func sago_get_token_async(s C.sa_strategy, timeoutMs C.int32_t, done C.sa_token_done_fn, userData C.uintptr_t) (status C.sa_status) {
	defer guard(&status)
	o, timeout, st := strategyWait(done != nil, "done", s, timeoutMs)
	if st != saOK {
		return st
	}
	completeAsync(done, userData, func() (stackauth.ServiceToken, error) { return o.getToken(timeout) })
	return saOK
}

// complete calls an sa_get_token_async callback with its outcome (on a completion worker).
func complete(done C.sa_token_done_fn, userData C.uintptr_t, tok stackauth.ServiceToken, err error) {
	if err != nil {
		st, ae := classify(err)
		data, _ := ae.MarshalJSON()
		p := C.sashim_borrow(string(data))
		defer C.sashim_wipe_free(p, C.size_t(len(data)))
		C.sashim_call_done(done, userData, st, 0, p)
		return
	}
	h := C.sa_token(handles.add(&tokenObj{tok: tok}))
	C.sashim_call_done(done, userData, saOK, h, nil)
}

//export sago_token_value
func sago_token_value(t C.sa_token, out **C.char, outLen *C.size_t) (status C.sa_status) {
	defer guard(&status)
	return tokenString(t, out, outLen, false)
}

//export sago_token_json
func sago_token_json(t C.sa_token, out **C.char, outLen *C.size_t) (status C.sa_status) {
	defer guard(&status)
	return tokenString(t, out, outLen, true)
}

// tokenString hands token t's bearer value, or its JSON (asJSON), to the host. Like
// strategyWait, it spells target out: sa_token_value is on the hot path.
func tokenString(t C.sa_token, out **C.char, outLen *C.size_t, asJSON bool) (status C.sa_status) {
	if out == nil {
		return invalidArg("out must not be NULL")
	}
	o, ok := lookup[*tokenObj](uint64(t))
	if !ok {
		return invalidHandle("token")
	}
	if asJSON {
		return setJSON(out, outLen, o.tok.Result())
	}
	o.tok.Token().Use(func(secret string) { status = setString(out, outLen, secret) })
	return status
}

//export sago_token_free
func sago_token_free(t C.sa_token) {
	defer func() { recover() }()
	if _, ok := lookup[*tokenObj](uint64(t)); ok { // nothing to release: no freeHandle on this hot path
		handles.remove(uint64(t))
	}
}
