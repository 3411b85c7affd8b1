package main

/*
#include "shim.h"
*/
import "C"

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// hostLog forwards core's log records to the host's handler (sa_set_log_handler). Every
// strategy the C ABI makes logs through it, so what is logged and in which words is core's
// decision; a binding only hands the line to its language's logger. The engine never waits:
// a record is queued (a full queue drops it, and the next line says how many), and one
// goroutine calls the handler, in order.
var hostLog = struct {
	mu      sync.Mutex // held while the handler runs, so a replaced handler is never called again
	fn      C.sa_log_fn
	ud      C.uintptr_t
	min     atomic.Int64 // slog level; records below it are not formatted at all
	on      atomic.Bool
	start   sync.Once
	ch      chan logLine
	dropped atomic.Uint64
}{ch: make(chan logLine, 256)}

type logLine struct {
	level slog.Level
	text  string
}

// hostLogger is the logger capi gives core (WithLogger).
var hostLogger = slog.New(hostLogHandler{})

type hostLogHandler struct{ attrs []slog.Attr }

func (hostLogHandler) Enabled(_ context.Context, l slog.Level) bool {
	return hostLog.on.Load() && int64(l) >= hostLog.min.Load()
}

// Handle words a record as one line: the message, then key=value for each attribute.
// Attribute values are core's (errors already redacted of secrets).
func (h hostLogHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	add := func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.Resolve().String())
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	select {
	case hostLog.ch <- logLine{level: r.Level, text: b.String()}:
	default:
		hostLog.dropped.Add(1)
	}
	return nil
}

func (h hostLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return hostLogHandler{attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h hostLogHandler) WithGroup(string) slog.Handler { return h }

func deliverLogs() {
	for l := range hostLog.ch {
		if n := hostLog.dropped.Swap(0); n > 0 {
			callLogHandler(slog.LevelWarn, "stack-auth: log records dropped (the handler was slow) count="+strconv.FormatUint(n, 10))
		}
		callLogHandler(l.level, l.text)
	}
}

func callLogHandler(level slog.Level, text string) {
	p := C.sashim_borrow(text)
	defer C.sashim_wipe_free(p, C.size_t(len(text)))
	hostLog.mu.Lock()
	defer hostLog.mu.Unlock()
	if hostLog.fn != nil {
		func() {
			defer func() { recover() }() // never from the host's C code; keep delivering
			C.sashim_call_log(hostLog.fn, hostLog.ud, C.int32_t(level), p, C.size_t(len(text)))
		}()
	}
}

//export sago_set_log_handler
func sago_set_log_handler(fn C.sa_log_fn, minLevel C.int32_t, userData C.uintptr_t) (status C.sa_status) {
	defer guard(&status)
	hostLog.mu.Lock()
	hostLog.fn, hostLog.ud = fn, userData
	hostLog.min.Store(int64(minLevel))
	hostLog.on.Store(fn != nil)
	hostLog.mu.Unlock()
	if fn != nil {
		hostLog.start.Do(func() { go deliverLogs() })
	}
	return saOK
}
