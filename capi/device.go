package main

/*
#include "shim.h"
*/
import "C"

import (
	"context"

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
	var r, id string
	if st := goStrings(cString{&r, region, "region", true}, cString{&id, clientID, "client_id", false}); st != saOK {
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
	kept = true
	return put(out, &flowObj{pending: pending, life: life, end: end, opts: p})
}

//export sago_device_flow_json
func sago_device_flow_json(f C.sa_device_flow, out **C.char, outLen *C.size_t) (status C.sa_status) {
	defer guard(&status)
	o, st := target[*flowObj](out != nil, "out", f, "device flow")
	if st != saOK {
		return st
	}
	return setJSON(out, outLen, o.pending)
}

//export sago_device_flow_open_browser
func sago_device_flow_open_browser(f C.sa_device_flow, outOpened *C.int32_t) (status C.sa_status) {
	defer guard(&status)
	o, st := find[*flowObj](f, "device flow")
	if st != saOK {
		return st
	}
	setBool(outOpened, o.pending.OpenInBrowser())
	return saOK
}

//export sago_device_code_poll
func sago_device_code_poll(f C.sa_device_flow, timeoutMs C.int32_t, out **C.char, outLen *C.size_t) (status C.sa_status) {
	defer guard(&status)
	o, st := target[*flowObj](out != nil, "out", f, "device flow")
	if st != saOK {
		return st
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
	return setJSON(out, outLen, tok.ServiceToken().Result())
}

//export sago_device_flow_free
func sago_device_flow_free(f C.sa_device_flow) {
	defer func() { recover() }()
	freeHandle(f, func(o *flowObj) {
		o.end(errHandleFreed)
		o.opts.release()
	})
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
