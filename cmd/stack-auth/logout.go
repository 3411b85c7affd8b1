package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/stackauth/stack-auth/core/profile"
)

var logoutCommand = &command{
	name:     "logout",
	synopsis: "[--profile DIR] [--workspace ID]",
	summary:  "Remove the current workspace's saved session",
	about: `Removes the current workspace's auth.json from the profile directory. The device identity
(device.json) and this device's ZeroKMS client key (secretkey.json) are kept, so logging in
again reuses them. Not being logged in is not an error.`,
	setup: func(fs *flag.FlagSet, a *app) func(context.Context, *app) error {
		a.selectionFlags(fs, true)
		return logout
	},
}

func logout(ctx context.Context, a *app) error {
	root, err := a.profileRoot()
	if err != nil {
		fmt.Fprintf(a.stdout, "Not logged in: %s.\n", err)
		return nil
	}
	id := a.workspaceID()
	if id == "" {
		id, err = root.CurrentWorkspace()
	}
	var ws *profile.Store
	if err == nil {
		ws, err = root.WorkspaceStore(id)
	}
	if err != nil {
		var pe *profile.Error
		if errors.As(err, &pe) && pe.Kind == profile.KindNoCurrentWorkspace {
			fmt.Fprintf(a.stdout, "Not logged in: no current workspace in %s.\n", root.Dir())
			return nil
		}
		return profileError(err)
	}
	path, err := ws.Path("auth.json")
	if err != nil {
		return profileError(err)
	}
	if !ws.Exists("auth.json") {
		fmt.Fprintf(a.stdout, "Not logged in to workspace %s: %s does not exist.\n", id, path)
		return nil
	}
	// Take the refresh lock so that the file is not removed under a process that is
	// rotating the refresh token right now. If the lock cannot be had, remove it anyway:
	// the user asked to log out.
	lockCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	unlock, lockErr := ws.Lock(lockCtx, "auth.json")
	cancel()
	if lockErr == nil {
		defer unlock()
	}
	if err := ws.Clear("auth.json"); err != nil {
		return profileError(err)
	}
	fmt.Fprintf(a.stdout, "Logged out of workspace %s: removed %s\n", id, path)
	if _, ok := a.lookupEnv("CS_CLIENT_ACCESS_KEY"); ok {
		fmt.Fprintln(a.stdout, "Note: CS_CLIENT_ACCESS_KEY is still set, so `stack-auth token` keeps using that access key.")
	}
	return nil
}
