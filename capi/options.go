package main

/*
#include "shim.h"
*/
import "C"

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unsafe"

	stackauth "github.com/stackauth/stack-auth/core"
)

// Each call's options_json decodes into the core settings of that call (core decides which
// option applies where), plus the handles the call takes.

// options are a strategy's: every key of options_json (include/stack_auth.h).
type options struct {
	stackauth.StrategySettings
	Store     *uint64 `json:"store"`
	Transport *uint64 `json:"transport"`
}

type deviceFlowOptions struct {
	stackauth.DeviceFlowSettings
	Transport *uint64 `json:"transport"`
}

type bindDeviceOptions struct {
	stackauth.BindDeviceSettings
	Transport *uint64 `json:"transport"`
}

// parsed are options turned into core options, with what the handle keeps alive.
type parsed struct {
	core      []stackauth.Option
	store     *storeObj // referenced by the strategy; released when it is freed
	transport *transportObj
	timeout   time.Duration
	events    *eventSink // the engine's events, for sa_strategy_set_event_hook
}

// parseOptions decodes a strategy's options_json strictly: unknown keys (unless the host
// language's upstream ignores them) and wrong types are errors.
func parseOptions(p *C.sa_cchar) (*parsed, C.sa_status) {
	o, st := decodeOptions[options](p)
	if st != saOK {
		return nil, st
	}
	settings, err := o.Options()
	if err != nil {
		return nil, invalidArg("options_json: %s", err)
	}
	return newParsed(o.WaitSetting, settings, o.Transport, o.Store)
}

// parseDeviceFlowOptions decodes the options_json of sa_device_code_begin.
func parseDeviceFlowOptions(p *C.sa_cchar) (*parsed, C.sa_status) {
	o, st := decodeOptions[deviceFlowOptions](p)
	if st != saOK {
		return nil, st
	}
	return newParsed(o.WaitSetting, o.Options(), o.Transport, nil)
}

// parseBindDeviceOptions decodes the options_json of sa_bind_client_device.
func parseBindDeviceOptions(p *C.sa_cchar) (*parsed, C.sa_status) {
	o, st := decodeOptions[bindDeviceOptions](p)
	if st != saOK {
		return nil, st
	}
	return newParsed(o.WaitSetting, o.Options(), o.Transport, nil)
}

// parseTimeoutOnly decodes the options_json of a hook, where only timeoutMs applies.
func parseTimeoutOnly(p *C.sa_cchar) (*parsed, C.sa_status) {
	o, st := decodeOptions[stackauth.WaitSetting](p)
	if st != saOK {
		return nil, st
	}
	return newParsed(o, nil, nil, nil)
}

// newParsed adds what every call gets (the host's environment, the engine's events) and
// retains the transport and store handles named.
func newParsed(wait stackauth.WaitSetting, settings []stackauth.Option, transport, store *uint64) (*parsed, C.sa_status) {
	timeout, err := wait.Wait()
	if err != nil {
		return nil, invalidArg("options_json: %s", err)
	}
	events := newEventSink()
	out := &parsed{timeout: timeout, events: events,
		core: append([]stackauth.Option{stackauth.WithLookupEnv(lookupEnv), stackauth.WithEvents(events.emit),
			stackauth.WithLogger(hostLogger)}, settings...)}
	if transport != nil {
		t, ok := retainTransport(*transport)
		if !ok {
			return nil, invalidHandle("transport")
		}
		out.transport = t
		out.core = append(out.core, stackauth.WithTransport(t))
	}
	if store != nil {
		st, ok := retainStore(*store)
		if !ok {
			out.release()
			return nil, invalidHandle("store")
		}
		out.store = st
		out.core = append(out.core, stackauth.WithStore(st.store))
	}
	return out, saOK
}

func decodeOptions[T any](p *C.sa_cchar) (T, C.sa_status) {
	var o T
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
		return "wrong type for " + typ.Field[strings.LastIndex(typ.Field, ".")+1:] // the key, not the Go path to it
	}
	msg := err.Error()
	if len(msg) > 16 && msg[:16] == "json: unknown fi" {
		key := msg[len("json: unknown field "):]
		if optionKeys[strings.Trim(key, `"`)] {
			return "key " + key + " does not apply to this call"
		}
		return "unknown key " + key
	}
	return "invalid options"
}

// lookupEnv reads the host's live environment through C getenv (docs/c-abi.md P27).
func lookupEnv(name string) (string, bool) {
	p := C.sashim_getenv(name)
	if p == nil {
		return "", false
	}
	defer C.free(unsafe.Pointer(p))
	return C.GoString(p), true
}
