package main

/*
#include "shim.h"
*/
import "C"

import (
	"bytes"
	"encoding/json"
	"time"
	"unsafe"

	stackauth "github.com/stackauth/stack-auth/core"
)

// options are the keys of options_json (include/stack_auth.h).
type options struct {
	BaseURL       *string `json:"baseUrl"`
	Store         *uint64 `json:"store"`
	Audience      *string `json:"audience"`
	AccessKey     *string `json:"accessKey"`
	WorkspaceCrn  *string `json:"workspaceCrn"`
	ProfileDir    *string `json:"profileDir"`
	TimeoutMs     *int64  `json:"timeoutMs"`
	LeewaySecs    *uint64 `json:"leewaySecs"`
	CacheCapacity *int    `json:"cacheCapacity"`
	Transport     *uint64 `json:"transport"`
}

// parsed are options turned into core options, with what the handle keeps alive.
type parsed struct {
	core      []stackauth.Option
	store     *storeObj // referenced by the strategy; released when it is freed
	transport *transportObj
	timeout   time.Duration
	events    *eventSink // the engine's events, for sa_strategy_set_event_hook
}

// parseOptions decodes options_json strictly: unknown keys (unless the host language's
// upstream ignores them) and wrong types are errors.
func parseOptions(p *C.sa_cchar) (*parsed, C.sa_status) {
	o, st := decodeOptions(p)
	if st != saOK {
		return nil, st
	}
	events := newEventSink()
	out := &parsed{timeout: stackauth.DefaultWait, events: events,
		core: []stackauth.Option{stackauth.WithLookupEnv(lookupEnv), stackauth.WithEvents(events.emit)}}
	if o.BaseURL != nil {
		out.core = append(out.core, stackauth.WithBaseURL(*o.BaseURL))
	}
	if o.Audience != nil {
		out.core = append(out.core, stackauth.WithAudience(*o.Audience))
	}
	if o.AccessKey != nil {
		out.core = append(out.core, stackauth.WithAccessKey(*o.AccessKey))
	}
	if o.WorkspaceCrn != nil {
		out.core = append(out.core, stackauth.WithWorkspaceCrn(*o.WorkspaceCrn))
	}
	if o.ProfileDir != nil {
		out.core = append(out.core, stackauth.WithProfileDir(*o.ProfileDir))
	}
	if o.LeewaySecs != nil {
		out.core = append(out.core, stackauth.WithLeeway(*o.LeewaySecs))
	}
	if o.CacheCapacity != nil {
		if *o.CacheCapacity < 0 {
			return nil, invalidArg("options_json: cacheCapacity must not be negative")
		}
		out.core = append(out.core, stackauth.WithOidcCacheCapacity(*o.CacheCapacity))
	}
	if o.TimeoutMs != nil {
		wait, err := stackauth.WaitFromMillis(*o.TimeoutMs)
		if err != nil {
			return nil, invalidArg("options_json: %s", err)
		}
		out.timeout = wait // the caller's default wait (the shared refresh has its own)
	}
	if o.Transport != nil {
		t, ok := retainTransport(*o.Transport)
		if !ok {
			return nil, invalidHandle("transport")
		}
		out.transport = t
		out.core = append(out.core, stackauth.WithTransport(t))
	}
	if o.Store != nil {
		st, ok := retainStore(*o.Store)
		if !ok {
			out.release()
			return nil, invalidHandle("store")
		}
		out.store = st
		out.core = append(out.core, stackauth.WithStore(st.store))
	}
	return out, saOK
}

func decodeOptions(p *C.sa_cchar) (options, C.sa_status) {
	var o options
	text, st := goString(p, "options_json", false)
	if st != saOK || text == "" {
		return o, st
	}
	if host().IgnoresUnknownOptions() {
		text = dropUnknownKeys(text)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return o, invalidArg("options_json: %s", jsonProblem(err))
	}
	if dec.More() {
		return o, invalidArg("options_json: trailing data after the object")
	}
	return o, saOK
}

// release undoes what parseOptions retained, when building the strategy failed.
func (p *parsed) release() {
	if p != nil && p.store != nil {
		p.store.release()
	}
	if p != nil && p.transport != nil {
		p.transport.release()
	}
}

// jsonProblem describes a JSON error without quoting the input (it may hold an access key).
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case asErr(err, &syn):
		return "invalid JSON"
	case asErr(err, &typ):
		return "wrong type for " + typ.Field
	}
	msg := err.Error()
	if len(msg) > 16 && msg[:16] == "json: unknown fi" {
		return "unknown key " + msg[len("json: unknown field "):]
	}
	return "invalid options"
}

// lookupEnv reads the host's live environment through C getenv (pitfall P27).
func lookupEnv(name string) (string, bool) {
	p := C.sashim_getenv(name)
	if p == nil {
		return "", false
	}
	defer C.free(unsafe.Pointer(p))
	return C.GoString(p), true
}

// parseTimeoutOnly accepts options_json for hooks, where only timeoutMs applies.
func parseTimeoutOnly(p *C.sa_cchar) (*parsed, C.sa_status) {
	return parseOptionsOnly(p, func(o options) options { return options{TimeoutMs: o.TimeoutMs} })
}

// parseOptionsOnly is parseOptions for calls that take only some of the keys.
func parseOptionsOnly(p *C.sa_cchar, allowed func(o options) options) (*parsed, C.sa_status) {
	o, st := decodeOptions(p)
	if st != saOK {
		return nil, st
	}
	if o != allowed(o) {
		return nil, invalidArg("options_json: a key that does not apply to this call")
	}
	return parseOptions(p)
}
