package main

/*
#include "shim.h"
*/
import "C"

import (
	"context"
	"encoding/json"

	stackauth "github.com/stackauth/stack-auth/core"
)

// flowObj is an sa_device_flow.
type flowObj struct {
	pending *stackauth.PendingDeviceCode
	life    context.Context
	end     context.CancelCauseFunc
	opts    *parsed // the transport its polls use; released when the handle is freed
}

//export sago_device_code_begin
func sago_device_code_begin(out *C.sa_device_flow, region, clientID, optionsJSON *C.sa_cchar) (status C.sa_status) {
	defer guard(&status)
	if out == nil {
		return invalidArg("out must not be NULL")
	}
	r, st := goString(region, "region", true)
	if st != saOK {
		return st
	}
	id, st := goString(clientID, "client_id", false)
	if st != saOK {
		return st
	}
	if id == "" {
		id = stackauth.CLIClientID
	}
	p, st := parseDeviceFlowOptions(optionsJSON)
	if st != saOK {
		return st
	}
	kept := false
	defer func() {
		if !kept {
			p.release()
		}
	}()
	s, err := stackauth.NewDeviceCodeStrategy(r, id, p.core...)
	if err != nil {
		return report(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	pending, err := s.Begin(ctx)
	if err != nil {
		return report(waitError(ctx, err, "a device code"))
	}
	life, end := context.WithCancelCause(context.Background())
	*out = C.sa_device_flow(handles.add(&flowObj{pending: pending, life: life, end: end, opts: p}))
	kept = true
	return saOK
}

//export sago_device_flow_json
func sago_device_flow_json(f C.sa_device_flow, out **C.char, outLen *C.size_t) (status C.sa_status) {
	defer guard(&status)
	if out == nil {
		return invalidArg("out must not be NULL")
	}
	o, ok := lookup[*flowObj](uint64(f))
	if !ok {
		return invalidHandle("device flow")
	}
	data, err := json.Marshal(o.pending)
	if err != nil {
		return report(err)
	}
	return setString(out, outLen, string(data))
}

//export sago_device_flow_open_browser
func sago_device_flow_open_browser(f C.sa_device_flow, outOpened *C.int32_t) (status C.sa_status) {
	defer guard(&status)
	o, ok := lookup[*flowObj](uint64(f))
	if !ok {
		return invalidHandle("device flow")
	}
	opened := o.pending.OpenInBrowser()
	if outOpened != nil {
		*outOpened = 0
		if opened {
			*outOpened = 1
		}
	}
	return saOK
}

//export sago_device_code_poll
func sago_device_code_poll(f C.sa_device_flow, timeoutMs C.int32_t, out **C.char, outLen *C.size_t) (status C.sa_status) {
	defer guard(&status)
	if out == nil {
		return invalidArg("out must not be NULL")
	}
	o, ok := lookup[*flowObj](uint64(f))
	if !ok {
		return invalidHandle("device flow")
	}
	wait, st := callWait(timeoutMs, 0) // 0: until the code expires
	if st != saOK {
		return st
	}
	ctx, cancel := o.life, context.CancelFunc(func() {})
	if wait > 0 {
		ctx, cancel = context.WithTimeout(o.life, wait)
	}
	defer cancel()
	tok, err := o.pending.PollForToken(ctx)
	if err != nil {
		return report(waitError(ctx, err, "device approval"))
	}
	data, err := json.Marshal(tok.ServiceToken().Result())
	if err != nil {
		return report(err)
	}
	defer clear(data)
	return setString(out, outLen, string(data))
}

//export sago_device_flow_free
func sago_device_flow_free(f C.sa_device_flow) {
	defer func() { recover() }()
	if _, ok := lookup[*flowObj](uint64(f)); !ok {
		return
	}
	if v, ok := handles.remove(uint64(f)); ok {
		v.(*flowObj).end(errHandleFreed)
		v.(*flowObj).opts.release()
	}
}

//export sago_bind_client_device
func sago_bind_client_device(optionsJSON *C.sa_cchar) (status C.sa_status) {
	defer guard(&status)
	p, st := parseBindDeviceOptions(optionsJSON)
	if st != saOK {
		return st
	}
	defer p.release()
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	if err := stackauth.BindClientDevice(ctx, p.core...); err != nil {
		return report(waitError(ctx, stackauth.AsAuthError(err), "ZeroKMS"))
	}
	return saOK
}
