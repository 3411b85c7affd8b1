package main

/*
#include "shim.h"
*/
import "C"

import (
	"context"

	stackauth "github.com/stackauth/stack-auth/core"
)

// sago_flush waits for in-flight exchanges and saves that outlive their strategy (a device
// session's rotated refresh token; store saves), for at most timeoutMs (0: no wait; core's
// CallWait checks it).
//
//export sago_flush
func sago_flush(timeoutMs C.int32_t) (status C.sa_status) {
	defer guard(&status)
	wait, st := callWait(timeoutMs, 0)
	if st != saOK {
		return st
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if stackauth.Flush(ctx) != nil {
		return fail(saETimeout, "TIMEOUT", "token exchanges or saves were still in flight when timeout_ms passed")
	}
	return saOK
}
