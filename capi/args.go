package main

/*
#include "shim.h"
*/
import "C"

import (
	"time"

	stackauth "github.com/stackauth/stack-auth/core"
)

// The steps the exports share: their argument checks, in the order the ABI reports them (a
// missing pointer, then a stale handle, then the rest), and the handle a constructor writes.
// Each export still runs `defer guard(&status)` itself, so no panic reaches the host.

// check is one argument rule of a call: when failed, the call returns INVALID_ARGUMENT msg.
type check struct {
	failed bool
	msg    string
}

// checkArgs returns the INVALID_ARGUMENT of the first failed check.
func checkArgs(checks ...check) C.sa_status {
	for _, c := range checks {
		if c.failed {
			return invalidArg("%s", c.msg)
		}
	}
	return saOK
}

// find returns the object of handle h when it is a T, else the INVALID_HANDLE of kind.
func find[T any, H ~uint64](h H, kind string) (T, C.sa_status) {
	o, ok := lookup[T](uint64(h))
	if !ok {
		return o, invalidHandle(kind)
	}
	return o, saOK
}

// target starts a call that reads handle h: its pointer argument name (out, or done) must be
// given, then h must be a T.
func target[T any, H ~uint64](given bool, name string, h H, kind string) (T, C.sa_status) {
	var none T
	if !given {
		return none, invalidArg("%s must not be NULL", name)
	}
	o, ok := lookup[T](uint64(h)) // not find: a call less on the getters' hot path
	if !ok {
		return none, invalidHandle(kind)
	}
	return o, saOK
}

// outString starts a constructor from one required C string argument name: out must be given,
// then the string is copied (goString).
func outString(given bool, p *C.sa_cchar, name string) (string, C.sa_status) {
	if !given {
		return "", invalidArg("out must not be NULL")
	}
	return goString(p, name, true)
}

// strategyWait starts a call that may wait for a token: target's checks for strategy s, then
// its timeout_ms (0: the strategy's own timeout). It is sa_get_token's hot path, so it spells
// target out rather than call it.
func strategyWait(given bool, name string, s C.sa_strategy, timeoutMs C.int32_t) (*strategyObj, time.Duration, C.sa_status) {
	if !given {
		return nil, 0, invalidArg("%s must not be NULL", name)
	}
	o, ok := lookup[*strategyObj](uint64(s))
	if !ok {
		return nil, 0, invalidHandle("strategy")
	}
	timeout, st := callWait(timeoutMs, o.timeout)
	return o, timeout, st
}

// put registers obj and writes its new handle to *out.
func put[H ~uint64](out *H, obj any) C.sa_status {
	*out = H(handles.add(obj))
	return saOK
}

// putToken writes a new sa_token holding tok to *out.
func putToken(out *C.sa_token, tok stackauth.ServiceToken) C.sa_status {
	return put(out, &tokenObj{tok: tok})
}

// freeHandle removes handle h when it is a T and lets its object go; a freed handle, 0, or another
// kind's handle does nothing. Callers keep their own recover: free functions return nothing.
func freeHandle[T any, H ~uint64](h H, release func(T)) {
	if _, ok := lookup[T](uint64(h)); !ok {
		return
	}
	if v, ok := handles.remove(uint64(h)); ok {
		release(v.(T))
	}
}

// hookArgs starts a call that registers a host hook (sa_store_fn_new_ex, sa_strategy_fn_new_ex,
// sa_transport_new): its checks, then the hook's timeout from options_json (only timeoutMs
// applies), then the hook owning user_data and destroy.
func hookArgs(userData C.uintptr_t, destroy C.sa_destroy_fn, optionsJSON *C.sa_cchar, checks ...check) (*hook, time.Duration, C.sa_status) {
	if st := checkArgs(checks...); st != saOK {
		return nil, 0, st
	}
	p, st := parseTimeoutOnly(optionsJSON)
	if st != saOK {
		return nil, 0, st
	}
	return newHook(userData, destroy), p.timeout, saOK
}

// cString is a C string argument to copy into *dst, by goString's rules.
type cString struct {
	dst      *string
	p        *C.sa_cchar
	name     string
	required bool
}

// goStrings copies the C string arguments in order; the first bad one fails the call.
func goStrings(args ...cString) C.sa_status {
	for _, a := range args {
		s, st := goString(a.p, a.name, a.required)
		if st != saOK {
			return st
		}
		*a.dst = s
	}
	return saOK
}

// setBool writes b to an optional int32_t out parameter as 0 or 1.
func setBool(out *C.int32_t, b bool) {
	if out == nil {
		return
	}
	*out = 0
	if b {
		*out = 1
	}
}
