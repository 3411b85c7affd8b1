package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	stackauth "github.com/stackauth/stack-auth/core"
)

const defaultTimeout = 30 * time.Second

var tokenCommand = &command{
	name:     "token",
	synopsis: "[--json] [--store URL] [--timeout D]",
	summary:  "Print a bearer token for the current credentials",
	about: `Prints a CipherStash service token for the credentials in the environment: an access key
(CS_CLIENT_ACCESS_KEY with CS_WORKSPACE_CRN) if set, else the device session saved by
"stack-auth login". The token is refreshed first if it is about to expire.

Typical use:  curl -H "Authorization: Bearer $(stack-auth token)" ...`,
	setup: func(fs *flag.FlagSet) func(context.Context, *app) error {
		asJSON := fs.Bool("json", false, `print {"token","subject","workspaceId","issuer","services","expiresAt"} instead of the bare token`)
		store := fs.String("store", "", "`URL` of a token cache shared by access-key invocations: memory: or file:///path (default $CS_TOKEN_STORE)")
		timeout := fs.Duration("timeout", defaultTimeout, "give up getting a token after this `duration`")
		return func(ctx context.Context, a *app) error {
			return printToken(ctx, a, *asJSON, *store, *timeout)
		}
	},
}

// detect runs the library's credential detection with this invocation's environment and,
// when storeURL is given, that token store.
func detect(a *app, storeURL string) (*stackauth.AutoStrategy, error) {
	opts := a.libOpts()
	if storeURL != "" {
		st, err := stackauth.OpenStore(storeURL)
		if err != nil {
			return nil, err
		}
		opts = append(opts, stackauth.WithStore(st))
	}
	return stackauth.DetectAutoStrategy(opts...)
}

func getToken(ctx context.Context, s *stackauth.AutoStrategy, timeout time.Duration) (stackauth.ServiceToken, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return s.GetToken(ctx)
}

func printToken(ctx context.Context, a *app, asJSON bool, storeURL string, timeout time.Duration) error {
	strategy, err := detect(a, storeURL)
	if err != nil {
		return err
	}
	defer func() {
		flushSaves() // the token's save to a shared store follows GetToken; Close would cancel it
		strategy.Close()
	}()
	if storeURL != "" && strategy.Source != stackauth.SourceAccessKey {
		// A device session keeps its token in the profile's auth.json instead.
		fmt.Fprintln(a.stderr, "warning: --store only applies to access keys; ignored for a device session")
	}
	tok, err := getToken(ctx, strategy, timeout)
	if err != nil {
		return err
	}
	if asJSON {
		out, err := json.Marshal(tok.Result())
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.stdout, "%s\n", out)
		return err
	}
	_, err = fmt.Fprintln(a.stdout, tok.Token().Reveal())
	return err
}
