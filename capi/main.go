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
	"fmt"
	"runtime"
	"unsafe"

	stackauth "github.com/stackauth/stack-auth/core"
)

func main() {}

//export sago_build_info_fill
func sago_build_info_fill(buf *C.char, n C.size_t) {
	info := fmt.Sprintf("stack-auth %s (%s %s/%s)", stackauth.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(n))
	copy(dst[:len(dst)-1], info)
	dst[min(len(info), len(dst)-1)] = 0
}
