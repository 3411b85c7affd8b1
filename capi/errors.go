package main

/*
#include "shim.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"time"

	stackauth "github.com/stackauth/stack-auth/core"
)

// failure is an error with the status it is reported under.
type failure struct {
	status C.sa_status
	err    *stackauth.AuthError
}

func (f *failure) Error() string { return f.err.Message }
func (f *failure) Unwrap() error { return f.err }

// fail records err as this thread's last error and returns its status. It must run on the
// export's own goroutine (locked to the caller's thread), never on a helper goroutine.
func fail(status C.sa_status, code, message string) C.sa_status {
	ae := stackauth.FromErrorCode(code, message, nil)
	ae.Code = code
	return report(&failure{status: status, err: ae})
}

func invalidArg(format string, args ...any) C.sa_status {
	return fail(saEInvalidArg, "INVALID_ARGUMENT", fmt.Sprintf(format, args...))
}

func invalidHandle(kind string) C.sa_status {
	return fail(saEInvalidHndl, "INVALID_HANDLE", "invalid "+kind+" handle (0, freed or unknown)")
}

// report sets the last error from err and returns the matching status.
func report(err error) C.sa_status {
	status, ae := classify(err)
	data, jerr := ae.MarshalJSON()
	if jerr != nil {
		data = []byte(`{"type":"INTERNAL_ERROR","message":"error could not be encoded"}`)
	}
	C.sashim_set_error(status, ae.Code, ae.Message, string(data))
	return status
}

// classify maps an error to its status and its AuthError, in the host language's words.
func classify(err error) (C.sa_status, *stackauth.AuthError) {
	var f *failure
	if errors.As(err, &f) {
		return f.status, f.err.ForLanguage(host())
	}
	var cb *callbackError
	if errors.As(err, &cb) {
		return saECallback, cb.err.ForLanguage(host())
	}
	return saEAuth, stackauth.AsAuthError(err).ForLanguage(host())
}

// waitError maps the end of a wait: the caller's deadline, a freed handle, or the error.
func waitError(ctx context.Context, err error, what string) error {
	var f *failure
	switch {
	case errors.As(err, &f):
		return err // already classified (a freed handle seen by a hook wait, a hook timeout)
	case errors.Is(context.Cause(ctx), errHandleFreed) || errors.Is(err, errHandleFreed):
		return cancelled(what)
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || deadlinePassed(ctx):
		// The second test catches an inner deadline that fired at the same instant as the
		// caller's, before the caller's context had noticed its own.
		return &failure{status: saETimeout, err: customCode("TIMEOUT", "timed out waiting for "+what)}
	}
	return err
}

func cancelled(what string) *failure {
	return &failure{status: saECancelled, err: customCode("CANCELLED", "cancelled while waiting for "+what+": the handle was freed")}
}

func deadlinePassed(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

func customCode(code, message string) *stackauth.AuthError {
	ae := stackauth.NewCustomError(message)
	ae.Code = code
	return ae
}

var errHandleFreed = errors.New("handle freed")

// guard turns a panic in an export into SA_E_INTERNAL: a panic must never reach the host.
func guard(status *C.sa_status) {
	if p := recover(); p != nil {
		// Only the type: a panic value could hold a secret.
		*status = fail(saEInternal, stackauth.CodeInternal, fmt.Sprintf("internal error: %T", p))
	}
}

//export sago_debug_panic
func sago_debug_panic() (status C.sa_status) {
	defer guard(&status)
	var m map[string]int
	//lint:ignore SA5000 the fault is the point: guard must turn it into SA_E_INTERNAL
	m["boom"]++ // a nil-map write: a genuine runtime fault
	return saOK
}

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }
