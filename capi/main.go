// Command capi is libstack_auth: the C ABI over package core, built with
// `go build -buildmode=c-shared`. The public functions are defined in shim.c, which guards
// against use after fork and then calls the sago_* exports here. Nothing here implements
// token behaviour: it maps handles to core objects, JSON options to core options, host
// callbacks to requests, and errors to statuses.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../include -std=gnu11 -Wall
#include "shim.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	stackauth "github.com/stackauth/stack-auth/core"
)

func main() {}

// registry maps handles to objects. Handles come from one counter, so they are never
// reused, and a handle of one kind is never valid as another kind. It is sharded so that
// threads creating and freeing token handles do not queue on one lock.
type registry struct {
	next   atomic.Uint64
	shards [64]shard
}

type shard struct {
	mu sync.RWMutex
	m  map[uint64]any
	_  [32]byte // keep shards on separate cache lines
}

var handles registry

func (r *registry) shard(h uint64) *shard {
	s := &r.shards[h%uint64(len(r.shards))]
	return s
}

func (r *registry) add(v any) uint64 {
	h := r.next.Add(1)
	s := r.shard(h)
	s.mu.Lock()
	if s.m == nil {
		s.m = map[uint64]any{}
	}
	s.m[h] = v
	s.mu.Unlock()
	return h
}

func (r *registry) remove(h uint64) (any, bool) {
	s := r.shard(h)
	s.mu.Lock()
	v, ok := s.m[h]
	delete(s.m, h)
	s.mu.Unlock()
	return v, ok
}

func (r *registry) len() int {
	n := 0
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// lookup returns the object of handle h if it is a T.
func lookup[T any](h uint64) (T, bool) {
	s := handles.shard(h)
	s.mu.RLock()
	v, ok := s.m[h]
	s.mu.RUnlock()
	t, ok2 := v.(T)
	return t, ok && ok2
}

//export sago_live_handles
func sago_live_handles() C.int64_t { return C.int64_t(handles.len()) }

//export sago_build_info_fill
func sago_build_info_fill(buf *C.char, n C.size_t) {
	info := fmt.Sprintf("stack-auth %s (%s %s/%s)", stackauth.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(n))
	copy(dst[:len(dst)-1], info)
	dst[min(len(info), len(dst)-1)] = 0
}

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

// goString copies a C string after checking it is valid UTF-8.
func goString(p *C.sa_cchar, name string, required bool) (string, C.sa_status) {
	if p == nil {
		if required {
			return "", invalidArg("%s must not be NULL", name)
		}
		return "", saOK
	}
	s := C.GoString((*C.char)(unsafe.Pointer(p)))
	if !utf8.ValidString(s) {
		return "", invalidArg("%s is not valid UTF-8", name)
	}
	return s, saOK
}

// setString hands s to the host as a library-owned string.
func setString(out **C.char, outLen *C.size_t, s string) C.sa_status {
	if C.sashim_new_string(s, out, outLen) != 0 {
		return fail(saEInternal, stackauth.CodeInternal, "out of memory")
	}
	return saOK
}

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }
