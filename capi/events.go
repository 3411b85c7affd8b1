package main

/*
#include "shim.h"
*/
import "C"

import (
	"encoding/json"
	"sync"
	"sync/atomic"

	stackauth "github.com/stackauth/stack-auth/core"
)

// eventSink delivers a strategy's engine events to its host hook (sa_strategy_set_event_hook)
// without ever blocking the engine: emit only queues (a full queue drops the event and counts
// it), and one goroutine per strategy calls the hook, in order.
type eventSink struct {
	mu      sync.Mutex // held while the hook runs, so a replaced hook is never called again
	fn      C.sa_event_fn
	ud      C.uintptr_t
	destroy C.sa_destroy_fn
	set     atomic.Bool // a hook is installed: emit queues
	started bool
	closed  bool

	ch      chan stackauth.Event
	stop    chan struct{}
	dropped atomic.Uint64
}

const eventQueue = 256

func newEventSink() *eventSink {
	return &eventSink{ch: make(chan stackauth.Event, eventQueue), stop: make(chan struct{})}
}

// emit is core's WithEvents function: called by the engine, so it never waits.
func (e *eventSink) emit(ev stackauth.Event) {
	if !e.set.Load() {
		return
	}
	select {
	case e.ch <- ev:
	default:
		e.dropped.Add(1)
	}
}

// install replaces the hook (fn nil: none); the previous hook's destroy runs once it can no
// longer be called.
func (e *eventSink) install(fn C.sa_event_fn, ud C.uintptr_t, destroy C.sa_destroy_fn) bool {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return false
	}
	oldDestroy, oldUD, had := e.destroy, e.ud, e.fn != nil
	if fn == nil {
		destroy = nil // nothing to destroy: no hook
	}
	e.fn, e.ud, e.destroy = fn, ud, destroy
	e.set.Store(fn != nil)
	if fn != nil && !e.started {
		e.started = true
		go e.deliver()
	}
	e.mu.Unlock()
	if had {
		C.sashim_call_destroy(oldDestroy, oldUD)
	}
	return true
}

func (e *eventSink) deliver() {
	for {
		select {
		case <-e.stop:
			return
		case ev := <-e.ch:
			e.call(ev)
		}
	}
}

func (e *eventSink) call(ev stackauth.Event) {
	data, err := json.Marshal(eventJSON(ev, e.dropped.Swap(0)))
	if err != nil {
		return
	}
	p := C.sashim_borrow(string(data))
	defer C.sashim_wipe_free(p, C.size_t(len(data)))
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fn != nil && !e.closed {
		func() {
			defer func() { recover() }() // never from the host's C code; keep delivering
			C.sashim_call_event(e.fn, e.ud, p, C.size_t(len(data)))
		}()
	}
}

// close stops delivery (the strategy was freed) and destroys the hook.
func (e *eventSink) close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	e.set.Store(false)
	close(e.stop)
	had, destroy, ud := e.fn != nil, e.destroy, e.ud
	e.fn = nil
	e.mu.Unlock()
	if had {
		C.sashim_call_destroy(destroy, ud)
	}
}

type eventOut struct {
	Kind       string  `json:"kind"`
	Reason     string  `json:"reason,omitempty"`
	Source     string  `json:"source,omitempty"`
	LatencyMs  float64 `json:"latencyMs,omitempty"`
	ErrorCode  string  `json:"errorCode,omitempty"`
	Generation uint64  `json:"generation,omitempty"`
	Dropped    uint64  `json:"dropped,omitempty"` // events lost before this one (a full queue)
}

func eventJSON(ev stackauth.Event, dropped uint64) eventOut {
	return eventOut{Kind: string(ev.Kind), Reason: string(ev.Reason), Source: string(ev.Source),
		LatencyMs: float64(ev.Latency.Microseconds()) / 1000, ErrorCode: ev.ErrorCode,
		Generation: ev.Generation, Dropped: dropped}
}

//export sago_strategy_set_event_hook
func sago_strategy_set_event_hook(s C.sa_strategy, fn C.sa_event_fn, userData C.uintptr_t, destroy C.sa_destroy_fn) (status C.sa_status) {
	defer guard(&status)
	o, st := find[*strategyObj](s, "strategy")
	if st != saOK {
		return st
	}
	if o.events == nil {
		return invalidArg("this strategy has no refresh engine, so no events (AuthStrategyFn, StaticTokenStrategy)")
	}
	if !o.events.install(fn, userData, destroy) {
		return invalidHandle("strategy")
	}
	return saOK
}
