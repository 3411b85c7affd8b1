//go:build noemulator

package main

import (
	"context"
	"errors"
	"flag"
)

// The CLI inside the npm packages, wheels and gems is built with -tags noemulator: the emulator
// is about 6 MB of the 15 MB binary, and each of those packages must stay within 4 MB
// compressed. The CLI archive (stack-auth-cli-<v>-<target>.tar.gz) and `go install` keep it.
var serveCommand = &command{
	name:     "serve",
	synopsis: "",
	summary:  "Run a local emulator of the CipherStash token service (not in this package's CLI)",
	about: `The emulator is not part of the CLI shipped in the npm, Python and Ruby packages (it
would double their size). It is in the CLI archive of each release
(stack-auth-cli-<version>-<target>.tar.gz), or:

    go run github.com/stackauth/stack-auth/cmd/stack-auth@latest serve`,
	setup: func(*flag.FlagSet, *app) func(context.Context, *app) error {
		return func(context.Context, *app) error {
			return errors.New("this stack-auth has no emulator (the npm, Python and Ruby packages leave it out); " +
				"use the CLI archive stack-auth-cli-<version>-<target>.tar.gz, or " +
				"`go run github.com/stackauth/stack-auth/cmd/stack-auth@latest serve`")
		}
	},
}
