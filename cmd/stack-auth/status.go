package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	stackauth "github.com/stackauth/stack-auth/core"
	"github.com/stackauth/stack-auth/core/profile"
)

var statusCommand = &command{
	name:     "status",
	synopsis: "[--json] [--timeout D] [--profile DIR] [--workspace ID]",
	summary:  "Show which credentials are in use, the workspace and the token expiry",
	about: `Shows which credential "stack-auth token" would use and why, the workspace, and when the
token expires. It gets a token to find out (refreshing a saved session if needed), but
never prints a secret. Exits 4 when there are no usable credentials (log in), 1 on
other errors.`,
	setup: func(fs *flag.FlagSet, a *app) func(context.Context, *app) error {
		a.selectionFlags(fs, true)
		asJSON := fs.Bool("json", false, "print the report as one JSON object")
		timeout := fs.Duration("timeout", defaultTimeout, "give up getting a token after this `duration`")
		return func(ctx context.Context, a *app) error { return status(ctx, a, *asJSON, *timeout) }
	},
}

// statusReport is what `status` found. It holds no secret: at most an access key's id.
type statusReport struct {
	Authenticated bool   `json:"authenticated"`
	Source        string `json:"source"` // access_key, device_session or none
	Reason        string `json:"reason"`
	ProfileDir    string `json:"profileDir,omitempty"`
	AuthFile      string `json:"authFile,omitempty"`
	AccessKeyID   string `json:"accessKeyId,omitempty"`
	WorkspaceCrn  string `json:"workspaceCrn,omitempty"`
	Subject       string `json:"subject,omitempty"`
	ExpiresAt     uint64 `json:"expiresAt,omitempty"`
	ExpiresIn     int64  `json:"expiresIn,omitempty"` // seconds, at the time of the report
	// Note is set when a saved device session exists but an access key overrides it.
	Note  string               `json:"note,omitempty"`
	Error *stackauth.AuthError `json:"error,omitempty"`
}

// profileSession reports the current workspace's auth.json, if there is one. It only looks:
// which credential wins is the library's decision.
func profileSession(a *app) (dir, authFile string) {
	root, err := a.profileRoot()
	if err != nil {
		return "", ""
	}
	dir = root.Dir()
	id := a.workspaceID()
	var ws *profile.Store
	if id != "" {
		ws, err = root.WorkspaceStore(id)
	} else {
		ws, err = root.CurrentWorkspaceStore()
	}
	if err != nil || !ws.Exists("auth.json") {
		return dir, ""
	}
	authFile, _ = ws.Path("auth.json")
	return dir, authFile
}

func status(ctx context.Context, a *app, asJSON bool, timeout time.Duration) error {
	r := &statusReport{Source: "none"}
	keyText, haveKey := a.lookupEnv("CS_CLIENT_ACCESS_KEY")
	r.ProfileDir, r.AuthFile = profileSession(a)

	// Describe the candidate the library's precedence (docs/protocol.md 5) will pick.
	switch {
	case haveKey:
		r.Source = string(stackauth.SourceAccessKey)
		r.Reason = "CS_CLIENT_ACCESS_KEY is set (an access key takes priority over a device session)"
		if k, err := stackauth.ParseAccessKey(keyText); err == nil {
			r.AccessKeyID = k.KeyID()
		}
		if r.AuthFile != "" {
			r.Note = "the device session in " + r.AuthFile + " is not used while CS_CLIENT_ACCESS_KEY is set"
		}
		r.AuthFile = ""
	case r.AuthFile != "":
		r.Source = string(stackauth.SourceDeviceSession)
		r.Reason = "CS_CLIENT_ACCESS_KEY is not set; using the device session saved in " + r.AuthFile
	case r.ProfileDir != "":
		r.Reason = "CS_CLIENT_ACCESS_KEY is not set and there is no device session in the profile at " + r.ProfileDir
	default:
		r.Reason = "CS_CLIENT_ACCESS_KEY is not set and no profile directory could be found"
	}

	err := func() error {
		strategy, err := detect(a, "")
		if err != nil {
			return err
		}
		defer strategy.Close()
		r.Source = string(strategy.Source) // the library's word is final
		if strategy.Crn != nil {
			r.WorkspaceCrn = strategy.Crn.String()
		}
		tok, err := getToken(ctx, strategy, timeout)
		if err != nil {
			return err
		}
		r.Authenticated = true
		r.Subject, _ = tok.Subject()
		if r.WorkspaceCrn == "" {
			r.WorkspaceCrn, _ = tok.WorkspaceID()
		}
		r.ExpiresAt = tok.ExpiresAt()
		if r.ExpiresAt != 0 {
			r.ExpiresIn = int64(r.ExpiresAt) - time.Now().Unix()
		}
		return nil
	}()
	if err != nil && ctx.Err() != nil {
		return err // interrupted: no report
	}
	if err != nil {
		ae := *stackauth.AsAuthError(err) // a copy: the help is reworded for this CLI
		ae.Help = cliHelp(ae.Help)
		r.Error = &ae
	}

	if asJSON {
		out, jerr := json.Marshal(r)
		if jerr != nil {
			return jerr
		}
		fmt.Fprintf(a.stdout, "%s\n", out)
	} else {
		printStatus(a.stdout, r)
	}
	return err // also printed on stderr, with its help, and exit 1
}

func printStatus(w io.Writer, r *statusReport) {
	switch r.Source {
	case string(stackauth.SourceAccessKey):
		id := ""
		if r.AccessKeyID != "" {
			id = ", key id " + r.AccessKeyID
		}
		fmt.Fprintf(w, "Credential:  access key (CS_CLIENT_ACCESS_KEY%s)\n", id)
	case string(stackauth.SourceDeviceSession):
		fmt.Fprintf(w, "Credential:  device session (profile %s)\n", r.ProfileDir)
	default:
		fmt.Fprintln(w, "Credential:  none")
	}
	fmt.Fprintf(w, "Why:         %s\n", r.Reason)
	if r.Note != "" {
		fmt.Fprintf(w, "Note:        %s\n", r.Note)
	}
	if r.WorkspaceCrn != "" {
		fmt.Fprintf(w, "Workspace:   %s\n", r.WorkspaceCrn)
	}
	if r.Subject != "" {
		fmt.Fprintf(w, "Subject:     %s\n", r.Subject)
	}
	if r.ExpiresAt != 0 {
		exp := time.Unix(int64(r.ExpiresAt), 0)
		fmt.Fprintf(w, "Expires:     %s (%s)\n", exp.Local().Format("2006-01-02 15:04:05 MST"), relative(exp, time.Now()))
	}
}
