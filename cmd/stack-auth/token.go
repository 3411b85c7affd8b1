package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	stackauth "github.com/stackauth/stack-auth/core"
)

const defaultTimeout = 30 * time.Second

var tokenCommand = &command{
	name:     "token",
	synopsis: "[--json] [--store URL] [--timeout D] [--profile DIR] [--workspace ID]",
	summary:  "Print a bearer token for the current credentials",
	about: `Prints a CipherStash service token for the credentials in the environment: an access key
(CS_CLIENT_ACCESS_KEY with CS_WORKSPACE_CRN) if set, else the device session saved by
"stack-auth login". The token is refreshed first if it is about to expire.

Typical use:  curl -H "Authorization: Bearer $(stack-auth token)" ...`,
	setup: func(fs *flag.FlagSet, a *app) func(context.Context, *app) error {
		a.selectionFlags(fs, true)
		asJSON := fs.Bool("json", false, `print {"token","subject","workspaceId","issuer","services","expiresAt"} instead of the bare token`)
		store := fs.String("store", "", "`URL` of a token cache shared by access-key invocations: memory: or file:///path (default $CS_TOKEN_STORE)")
		timeout := fs.Duration("timeout", defaultTimeout, "give up getting a token after this `duration`")
		return func(ctx context.Context, a *app) error {
			return printToken(ctx, a, *asJSON, *store, *timeout)
		}
	},
}

// detect runs the library's credential detection with this invocation's environment and
// token store: storeURL if given, else CS_TOKEN_STORE, else, for an access key, a file of
// its own under the profile directory, so that separate runs share one token.
func detect(a *app, storeURL string) (*stackauth.AutoStrategy, error) {
	opts := a.libOpts()
	if storeURL == "" && a.getenv("CS_TOKEN_STORE") == "" {
		storeURL = a.credentialStoreURL(opts)
	}
	if storeURL != "" {
		st, err := stackauth.OpenStore(storeURL, opts...)
		if err != nil {
			return nil, err
		}
		opts = append(opts, stackauth.WithStore(st))
	}
	return stackauth.DetectAutoStrategy(opts...)
}

// credentialStoreURL is the per-credential token file of the access key in use,
// <profile>/tokens/<workspace id>.<key id>.json, or "" when there is no usable key or
// profile directory (detection then reports what is wrong). The key's secret is no part
// of the name.
func (a *app) credentialStoreURL(opts []stackauth.Option) string {
	keyText, ok := a.lookupEnv("CS_CLIENT_ACCESS_KEY")
	if !ok {
		return ""
	}
	key, err := stackauth.ParseAccessKey(keyText)
	if err != nil {
		return ""
	}
	crn, err := stackauth.ParseCrn(a.accessKeyCrn())
	if err != nil {
		return ""
	}
	root, err := a.profileRoot()
	if err != nil {
		return ""
	}
	name := crn.WorkspaceID + "." + key.KeyID()
	if !safeFileName.MatchString(name) {
		sum := sha256.Sum256([]byte(crn.String() + "\x00" + key.KeyID()))
		name = hex.EncodeToString(sum[:16])
	}
	// A file URL's path has forward slashes, and a drive letter follows a slash (RFC 8089:
	// file:///C:/Users/...), so Windows paths make valid URLs too.
	path := filepath.ToSlash(filepath.Join(root.Dir(), "tokens", name+".json"))
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return (&url.URL{Scheme: "file", Path: path}).String()
}

var safeFileName = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`)

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
