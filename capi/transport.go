package main

/*
#include "shim.h"
*/
import "C"

import (
	"bytes"
	"context"
	"encoding/json"
	"time"
	"unsafe"

	stackauth "github.com/stackauth/stack-auth/core"
)

// transportObj is an sa_transport: the host's HTTP client as a core HTTPTransport. Its hook
// counts the owners (the handle and each strategy using it).
type transportObj struct {
	*hook
	send    C.sa_http_send_fn
	timeout time.Duration
}

// requestJSON is what the send hook is given besides the body.
type requestJSON struct {
	Method  string      `json:"method"`
	URL     string      `json:"url"`
	Headers [][2]string `json:"headers"`
}

func (t *transportObj) Send(ctx context.Context, r *stackauth.HTTPRequest) (*stackauth.HTTPResponse, error) {
	meta, err := json.Marshal(requestJSON{Method: r.Method, URL: r.URL, Headers: r.Headers})
	if err != nil {
		return nil, err
	}
	defer clear(meta) // header values carry credentials
	a, err := t.askRequest(ctx, t.timeout, &request{http: true}, func(ud C.uintptr_t, req C.sa_request) {
		// Both are borrowed for the duration of the call, then zeroed.
		m := C.sashim_borrow(unsafe.String(unsafe.SliceData(meta), len(meta)))
		defer C.sashim_wipe_free(m, C.size_t(len(meta)))
		var b *C.char
		if len(r.Body) > 0 {
			b = C.sashim_borrow(unsafe.String(unsafe.SliceData(r.Body), len(r.Body)))
			defer C.sashim_wipe_free(b, C.size_t(len(r.Body)))
		}
		C.sashim_call_http(t.send, ud, req, m, b, C.size_t(len(r.Body)))
	})
	if err != nil {
		return nil, err
	}
	return a.resp, nil
}

// retainTransport takes a reference on the transport handle h for a strategy.
func retainTransport(h uint64) (*transportObj, bool) {
	t, ok := lookup[*transportObj](h)
	return t, ok && t.retain()
}

//export sago_transport_new
func sago_transport_new(out *C.sa_transport, send C.sa_http_send_fn, userData C.uintptr_t, destroy C.sa_destroy_fn, optionsJSON *C.sa_cchar) (status C.sa_status) {
	defer guard(&status)
	if out == nil || send == nil {
		return invalidArg("out and send must not be NULL")
	}
	p, st := parseTimeoutOnly(optionsJSON)
	if st != saOK {
		return st
	}
	*out = C.sa_transport(handles.add(&transportObj{hook: newHook(userData, destroy), send: send, timeout: p.timeout}))
	return saOK
}

//export sago_transport_free
func sago_transport_free(t C.sa_transport) {
	defer func() { recover() }()
	if v, ok := lookup[*transportObj](uint64(t)); ok {
		if _, removed := handles.remove(uint64(t)); removed {
			v.release()
		}
	}
}

// maxResponseBody bounds a transport's answer, as the bundled client bounds a server's.
const maxResponseBody = 16 << 20

//export sago_request_respond
func sago_request_respond(r C.sa_request, httpStatus C.int32_t, headersJSON *C.sa_cchar, body *C.sa_cchar, length C.size_t) (status C.sa_status) {
	defer guard(&status)
	if body == nil && length > 0 {
		return invalidArg("body must not be NULL when len > 0")
	}
	req, ok := lookup[*request](uint64(r))
	if !ok {
		return invalidHandle("request")
	}
	if !req.http {
		return invalidArg("only a transport request is answered with sa_request_respond; use sa_request_resolve")
	}
	if httpStatus < 100 || httpStatus > 599 {
		return invalidArg("status must be an HTTP status (100-599); the request is still open")
	}
	if length > maxResponseBody {
		return invalidArg("body is longer than %d bytes; the request is still open", maxResponseBody)
	}
	var headers [][2]string
	if headersJSON != nil {
		text := C.GoString(headersJSON)
		if text != "" && json.Unmarshal([]byte(text), &headers) != nil {
			return invalidArg(`headers_json must be [["name","value"], ...] or NULL; the request is still open`)
		}
	}
	var data []byte
	if length > 0 {
		data = bytes.Clone(unsafe.Slice((*byte)(unsafe.Pointer(body)), int(length)))
	}
	if !req.complete(answer{resp: &stackauth.HTTPResponse{Status: int(httpStatus), Headers: headers, Body: data}}) {
		return invalidHandle("request")
	}
	return saOK
}
