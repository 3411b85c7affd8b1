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
	h, timeout, st := hookArgs(userData, destroy, optionsJSON, check{out == nil || send == nil, "out and send must not be NULL"})
	if st != saOK {
		return st
	}
	return put(out, &transportObj{hook: h, send: send, timeout: timeout})
}

//export sago_transport_free
func sago_transport_free(t C.sa_transport) {
	defer func() { recover() }()
	freeHandle(t, (*transportObj).release)
}

// maxResponseBody bounds a transport's answer, as the bundled client bounds a server's.
const maxResponseBody = 16 << 20

//export sago_request_respond
func sago_request_respond(r C.sa_request, httpStatus C.int32_t, headersJSON *C.sa_cchar, body *C.sa_cchar, length C.size_t) (status C.sa_status) {
	defer guard(&status)
	req, st := answerArg(r, body, length, "body", true, "only a transport request is answered with sa_request_respond; use sa_request_resolve")
	if st != saOK {
		return st
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
	data := bytes.Clone(cBytes(body, length))
	if !req.complete(answer{resp: &stackauth.HTTPResponse{Status: int(httpStatus), Headers: headers, Body: data}}) {
		return invalidHandle("request")
	}
	return saOK
}
