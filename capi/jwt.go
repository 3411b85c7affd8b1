package main

/*
#include "shim.h"
*/
import "C"

import (
	"context"
	"fmt"
	"time"

	stackauth "github.com/stackauth/stack-auth/core"
)

// The calls that let a binding run its user's function in the user's language and hand the
// result to the engine (docs/architecture.md D4): the caller's OIDC JWT, or the token an AuthStrategyFn
// returned. The per-JWT cache, single-flight and timeouts stay in core.

// jwtArg starts an OIDC call: its pointer argument name (out, or done) must be given, then it
// checks and copies a (jwt, len) argument and finds the OIDC strategy.
func jwtArg(given bool, name string, s C.sa_strategy, jwt *C.sa_cchar, length C.size_t) (*strategyObj, *stackauth.OidcFederationStrategy, stackauth.SecretToken, C.sa_status) {
	var none stackauth.SecretToken
	if !given {
		return nil, nil, none, invalidArg("%s must not be NULL", name)
	}
	if jwt == nil && length > 0 {
		return nil, nil, none, invalidArg("jwt must not be NULL when len > 0")
	}
	if length > maxHookValue {
		return nil, nil, none, invalidArg("jwt is longer than %d bytes", maxHookValue)
	}
	o, st := find[*strategyObj](s, "strategy")
	if st != saOK {
		return nil, nil, none, st
	}
	oidc, ok := o.s.(*stackauth.OidcFederationStrategy)
	if !ok {
		return nil, nil, none, invalidArg("the strategy is not an OidcFederationStrategy")
	}
	v := cBytes(jwt, length)
	// The rule of a provider's JWT (sa_request_resolve); an empty one is sent, as upstream.
	if problem := tokenProblem(v); problem != "" {
		return nil, nil, none, invalidArg("jwt %s", problem) // never the value itself
	}
	return o, oidc, stackauth.NewSecretTokenBytes(v), saOK
}

// jwtCall is a checked OIDC call that may wait: get waits for the JWT's token.
type jwtCall struct {
	o       *strategyObj
	oidc    *stackauth.OidcFederationStrategy
	jwt     stackauth.SecretToken
	timeout time.Duration
}

func (c jwtCall) get() (stackauth.ServiceToken, error) {
	return c.o.tokenForJWT(c.oidc, c.jwt, c.timeout)
}

// jwtWait starts an OIDC call that may wait: jwtArg's checks, then its timeout_ms (0: the
// strategy's own timeout).
func jwtWait(given bool, name string, s C.sa_strategy, jwt *C.sa_cchar, length C.size_t, timeoutMs C.int32_t) (jwtCall, C.sa_status) {
	o, oidc, secret, st := jwtArg(given, name, s, jwt, length)
	if st != saOK {
		return jwtCall{}, st
	}
	timeout, st := callWait(timeoutMs, o.timeout)
	return jwtCall{o: o, oidc: oidc, jwt: secret, timeout: timeout}, st
}

func (o *strategyObj) tokenForJWT(oidc *stackauth.OidcFederationStrategy, jwt stackauth.SecretToken, timeout time.Duration) (stackauth.ServiceToken, error) {
	if tok, err, ok := oidc.TryGetTokenForJWT(jwt); ok {
		return tok, err
	}
	ctx, cancel := context.WithTimeout(o.life, timeout)
	defer cancel()
	tok, err := oidc.GetTokenForJWT(ctx, jwt)
	if err != nil {
		return tok, waitError(ctx, err, "a token")
	}
	return tok, nil
}

//export sago_oidc_get_token_with_jwt
func sago_oidc_get_token_with_jwt(out *C.sa_token, s C.sa_strategy, jwt *C.sa_cchar, length C.size_t, timeoutMs C.int32_t) (status C.sa_status) {
	defer guard(&status)
	call, st := jwtWait(out != nil, "out", s, jwt, length, timeoutMs)
	if st != saOK {
		return st
	}
	tok, err := call.get()
	if err != nil {
		return report(err)
	}
	return putToken(out, tok)
}

//export sago_oidc_try_get_token_with_jwt
func sago_oidc_try_get_token_with_jwt(out *C.sa_token, s C.sa_strategy, jwt *C.sa_cchar, length C.size_t) (status C.sa_status) {
	defer guard(&status)
	_, oidc, secret, st := jwtArg(out != nil, "out", s, jwt, length)
	if st != saOK {
		return st
	}
	tok, err, ok := oidc.TryGetTokenForJWT(secret)
	if !ok {
		return fail(saEWouldBlock, "WOULD_BLOCK", "no token cached for this JWT; use sa_oidc_get_token_with_jwt_async")
	}
	if err != nil {
		return report(err)
	}
	return putToken(out, tok)
}

//export sago_oidc_get_token_with_jwt_async
func sago_oidc_get_token_with_jwt_async(s C.sa_strategy, jwt *C.sa_cchar, length C.size_t, timeoutMs C.int32_t, done C.sa_token_done_fn, userData C.uintptr_t) (status C.sa_status) {
	defer guard(&status)
	call, st := jwtWait(done != nil, "done", s, jwt, length, timeoutMs)
	if st != saOK {
		return st
	}
	completeAsync(done, userData, call.get)
	return saOK
}

// completeAsync gets a token on a library goroutine and hands done's call, exactly once, to
// the bounded completion pool (completions.go), as sa_get_token_async does.
func completeAsync(done C.sa_token_done_fn, userData C.uintptr_t, get func() (stackauth.ServiceToken, error)) {
	go func() {
		tok, err := func() (tok stackauth.ServiceToken, err error) {
			defer func() {
				if p := recover(); p != nil {
					err = stackauth.NewInternalError("panic while getting a token")
				}
			}()
			return get()
		}()
		completions.add(func() { complete(done, userData, tok, err) })
	}()
}

//export sago_token_from_value
func sago_token_from_value(out *C.sa_token, value *C.sa_cchar, length C.size_t) (status C.sa_status) {
	defer guard(&status)
	if out == nil {
		return invalidArg("out must not be NULL")
	}
	if value == nil && length > 0 {
		return invalidArg("value must not be NULL when len > 0")
	}
	if length > maxHookValue {
		return report(&callbackError{err: stackauth.NewCustomError(fmt.Sprintf("the token function returned a value too long (over %d bytes)", maxHookValue))})
	}
	tok, err := stackauth.ServiceTokenFromValue(string(cBytes(value, length)))
	if err != nil {
		return report(&callbackError{err: stackauth.AsAuthError(err)})
	}
	return putToken(out, tok)
}

//export sago_callback_error
func sago_callback_error(code, message *C.sa_cchar) (status C.sa_status) {
	defer guard(&status)
	rejection, st := hostRejectionArg(code, message)
	if st != saOK {
		return st
	}
	return report(rejection)
}
