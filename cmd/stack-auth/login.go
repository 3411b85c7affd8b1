package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	stackauth "github.com/stackauth/stack-auth/core"
	"github.com/stackauth/stack-auth/core/profile"
)

// defaultRegion is where `login` goes when neither --region nor CS_WORKSPACE_CRN says.
const defaultRegion = "ap-southeast-2.aws"

var loginCommand = &command{
	name:     "login",
	synopsis: "[--region R] [--no-browser] [--profile DIR]",
	summary:  "Log in with the device code flow and save the session to the profile",
	about: `Logs in to CipherStash with the device code flow: shows a one-time code and a URL,
opens the browser to approve it, waits for the approval, saves the session as the
current workspace's auth.json in the profile directory ($CS_CONFIG_PATH or
~/.cipherstash) and registers this device with ZeroKMS.`,
	setup: func(fs *flag.FlagSet, a *app) func(context.Context, *app) error {
		a.selectionFlags(fs, false)
		region := fs.String("region", "", "region `R` of the workspace, e.g. us-east-1.aws (default: the region of $CS_WORKSPACE_CRN, else "+defaultRegion+")")
		noBrowser := fs.Bool("no-browser", false, "print the URL instead of opening a browser")
		return func(ctx context.Context, a *app) error { return login(ctx, a, *region, *noBrowser) }
	},
}

// loginRegion applies --region > the region of CS_WORKSPACE_CRN > the default. A malformed
// CS_WORKSPACE_CRN is an error here too: every later command would fail on it anyway.
func loginRegion(flagValue string, lookupEnv func(string) (string, bool)) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if v, ok := lookupEnv("CS_WORKSPACE_CRN"); ok {
		crn, err := stackauth.ParseCrn(v)
		if err != nil {
			return "", err
		}
		return crn.Region.Identifier(), nil
	}
	return defaultRegion, nil
}

func login(ctx context.Context, a *app, regionFlag string, noBrowser bool) error {
	region, err := loginRegion(regionFlag, a.lookupEnv)
	if err != nil {
		return err
	}
	root, err := a.profileRoot()
	if err != nil {
		return profileError(err)
	}
	id, err := profile.LoadOrCreateDeviceIdentity(root)
	if err != nil {
		return profileError(err)
	}
	// The profile dir is pinned so that login, binding and the messages all use the one
	// directory resolved above.
	opts := append(a.libOpts(), stackauth.WithProfileDir(root.Dir()))
	strategy, err := stackauth.NewDeviceCodeStrategy(region, stackauth.CLIClientID,
		append(opts[:len(opts):len(opts)], stackauth.WithDeviceIdentity(id))...)
	if err != nil {
		return err
	}

	cancelled := &interruptedError{msg: "Login cancelled; nothing was saved."}
	pending, err := strategy.Begin(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return cancelled
		}
		return err
	}
	deadline := time.Now().Add(time.Duration(pending.ExpiresIn) * time.Second)
	url := pending.VerificationURIComplete
	if url == "" {
		url = pending.VerificationURI
	}
	fmt.Fprintf(a.stdout, "To log in, approve this device in your browser.\n\n  Code: %s\n  URL:  %s\n\n", pending.UserCode, url)
	switch {
	case noBrowser:
		fmt.Fprintln(a.stdout, "Open the URL in a browser and check that it shows the code above.")
	case pending.OpenInBrowser():
		fmt.Fprintln(a.stdout, "Opened your browser; check that it shows the code above.")
	default:
		fmt.Fprintln(a.stdout, "Could not open a browser; open this URL to continue:", url)
	}

	stop := startWaiting(a.stderr, "Waiting for approval…", deadline)
	tok, err := pending.PollForToken(ctx)
	stop()
	if err != nil {
		if ctx.Err() != nil {
			return cancelled
		}
		return err
	}

	// A device that cannot be bound can still get tokens; only encryption needs the client
	// key, and the next login binds it.
	if err := stackauth.BindClientDevice(ctx, opts...); err != nil {
		if ctx.Err() != nil {
			return &interruptedError{msg: "Interrupted: the session was saved, but this device was not registered with ZeroKMS; run `stack-auth login` again to register it."}
		}
		fmt.Fprintf(a.stderr, "warning: logged in, but could not register this device with ZeroKMS: %s\n",
			stackauth.AsAuthError(err).Message)
	}

	if crn, err := tok.WorkspaceCrn(); err == nil {
		fmt.Fprintf(a.stdout, "Logged in to workspace %s\n", crn)
	} else {
		fmt.Fprintln(a.stdout, "Logged in.")
	}
	return nil
}

// profileError presents a profile failure as the library does: a STORE_ERROR, keeping the
// profile's own hint as its help.
func profileError(err error) error {
	ae := stackauth.NewStoreError(err.Error())
	var pe *profile.Error
	if errors.As(err, &pe) {
		ae.Help = pe.Help()
	}
	return ae
}
