// Command stack-auth is what a person types to get CipherStash service tokens: it logs in
// with the device code flow, prints bearer tokens, reports which credentials are in use,
// logs out, and runs the local emulator of the token service.
//
// All policy (which credential wins, where the profile lives, how tokens are cached and
// refreshed) belongs to the library in package stackauth; this command only wires flags
// and the environment to it and presents the results.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	stackauth "github.com/stackauth/stack-auth/core"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, restore the default handlers so that a second Ctrl-C kills
	// a process whose clean shutdown is taking too long.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	// A refresh the server may already have performed (a rotated refresh token) is saved
	// before the process ends, for a few seconds at most (docs/architecture.md D1).
	flushSaves()
	os.Exit(code)
}

// flushSaves waits, at most stackauth.FlushTimeout, for exchanges and store saves in flight.
func flushSaves() {
	ctx, cancel := context.WithTimeout(context.Background(), stackauth.FlushTimeout)
	defer cancel()
	_ = stackauth.Flush(ctx)
}
