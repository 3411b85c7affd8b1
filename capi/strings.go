package main

/*
#include "shim.h"
*/
import "C"

import (
	"encoding/json"
	"unicode/utf8"
	"unsafe"

	stackauth "github.com/stackauth/stack-auth/core"
)

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

// setJSON hands v's JSON to the host as a library-owned string, and zeroes the Go copy (it may
// hold a token).
func setJSON(out **C.char, outLen *C.size_t, v any) C.sa_status {
	data, err := json.Marshal(v)
	if err != nil {
		return report(err)
	}
	defer clear(data)
	return setString(out, outLen, string(data))
}

// cBytes is a (pointer, length) argument as a Go slice borrowing the host's memory: nil when
// length is 0. Callers copy what they keep past the call.
func cBytes(p *C.sa_cchar, length C.size_t) []byte {
	if length == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(length))
}
