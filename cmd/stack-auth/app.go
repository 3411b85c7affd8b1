package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	stackauth "github.com/stackauth/stack-auth/core"
	"github.com/stackauth/stack-auth/core/profile"
)

// Exit statuses.
const (
	exitOK           = 0
	exitError        = 1
	exitUsage        = 2
	exitAuthRequired = 4   // as gh: log in (or set an access key) and try again
	exitInterrupted  = 130 // 128 + SIGINT, what shells report for Ctrl-C
)

// app is one invocation: its streams and its environment. Commands read the environment
// only through lookupEnv, and hand it to the library too, so that tests can run the whole
// CLI in-process with an environment of their own.
type app struct {
	stdin     io.Reader
	stdout    io.Writer
	stderr    io.Writer
	lookupEnv func(string) (string, bool)
	// profileDir and workspace are --profile and --workspace, where the command has them.
	profileDir string
	workspace  string
}

func (a *app) getenv(name string) string {
	v, _ := a.lookupEnv(name)
	return v
}

// libOpts are the options every library call gets: the invocation's environment and the
// --profile and --workspace selection.
func (a *app) libOpts() []stackauth.Option {
	opts := []stackauth.Option{stackauth.WithLookupEnv(a.lookupEnv), stackauth.WithProfileDir(a.profileDir)}
	if a.workspace == "" {
		return opts
	}
	opts = append(opts, stackauth.WithProfileWorkspace(a.workspaceID()))
	if crn := a.accessKeyCrn(); crn != "" {
		opts = append(opts, stackauth.WithWorkspaceCrn(crn))
	}
	return opts
}

// workspaceID is the workspace id of --workspace (an id or a CRN), or "".
func (a *app) workspaceID() string {
	if crn, err := stackauth.ParseCrn(a.workspace); err == nil {
		return crn.WorkspaceID
	}
	return a.workspace
}

// accessKeyCrn is the workspace CRN an access key is used with: --workspace as a CRN, a
// bare --workspace id in the region of CS_WORKSPACE_CRN, else CS_WORKSPACE_CRN itself.
func (a *app) accessKeyCrn() string {
	if a.workspace == "" {
		return a.getenv("CS_WORKSPACE_CRN")
	}
	if crn, err := stackauth.ParseCrn(a.workspace); err == nil {
		return crn.String()
	}
	if crn, err := stackauth.ParseCrn(a.getenv("CS_WORKSPACE_CRN")); err == nil {
		crn.WorkspaceID = a.workspace
		return crn.String()
	}
	return ""
}

// selectionFlags defines --profile and, when withWorkspace, --workspace on fs.
func (a *app) selectionFlags(fs *flag.FlagSet, withWorkspace bool) {
	fs.StringVar(&a.profileDir, "profile", "", "profile `DIR` (default $CS_CONFIG_PATH, else ~/.cipherstash)")
	if withWorkspace {
		fs.StringVar(&a.workspace, "workspace", "", "use the saved session of workspace `ID` (or CRN) instead of the current one")
	}
}

// profileRoot resolves the profile directory exactly as the library does
// (--profile, else CS_CONFIG_PATH, else ~/.cipherstash).
func (a *app) profileRoot() (*profile.Store, error) {
	return profile.Resolve(a.profileDir, a.getenv)
}

type command struct {
	name     string
	synopsis string // flags part of the usage line
	summary  string // one line for the command list
	about    string // paragraph for `<command> --help`
	// setup defines the command's flags on fs (and a's, see selectionFlags) and returns
	// what runs once they are parsed.
	setup func(fs *flag.FlagSet, a *app) func(ctx context.Context, a *app) error
}

// commands is in the order the top-level usage lists them.
var commands = []*command{loginCommand, tokenCommand, statusCommand, logoutCommand, serveCommand, versionCommand}

func findCommand(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// run is the whole CLI; main only supplies the process's streams, environment and a
// context that is cancelled on SIGINT/SIGTERM. It returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, lookupEnv: lookupEnv}
	if len(args) == 0 {
		printUsage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help", "help":
		if name == "help" && len(rest) > 0 {
			c := findCommand(rest[0])
			if c == nil {
				fmt.Fprintf(stderr, "error: unknown command %q\n\n", rest[0])
				printUsage(stderr)
				return exitUsage
			}
			fs := newFlagSet(c)
			c.setup(fs, a)
			printCommandUsage(stdout, c, fs)
			return exitOK
		}
		printUsage(stdout)
		return exitOK
	case "-version", "--version":
		name = "version"
	}
	c := findCommand(name)
	if c == nil {
		if strings.HasPrefix(name, "-") {
			fmt.Fprintf(stderr, "error: unknown flag %s\n\n", name)
		} else {
			fmt.Fprintf(stderr, "error: unknown command %q\n\n", name)
		}
		printUsage(stderr)
		return exitUsage
	}
	fs := newFlagSet(c)
	runCmd := c.setup(fs, a)
	if err := a.parseFlags(c, fs, rest); err != nil {
		return a.finish(ctx, err)
	}
	return a.finish(ctx, runCmd(ctx, a))
}

// finish turns a command's error into output and an exit status.
func (a *app) finish(ctx context.Context, err error) int {
	var ue *usageError
	var ie *interruptedError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelpShown):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "error: %s\n\n", ue.msg)
		printCommandUsage(a.stderr, ue.cmd, ue.fs)
		return exitUsage
	case errors.As(err, &ie):
		fmt.Fprintln(a.stderr, ie.msg)
		return exitInterrupted
	case ctx.Err() != nil:
		// Whatever failed, it failed because the user asked us to stop.
		fmt.Fprintln(a.stderr, "Interrupted.")
		return exitInterrupted
	}
	printError(a.stderr, err)
	if authRequired(err) {
		return exitAuthRequired
	}
	return exitError
}

// authRequired is an error that logging in (or an access key) would cure.
func authRequired(err error) bool {
	switch stackauth.AsAuthError(err).Code {
	case stackauth.CodeNotAuthenticated, stackauth.CodeExpiredToken, stackauth.CodeInvalidGrant:
		return true
	}
	return false
}

// errHelpShown ends a command whose --help was printed.
var errHelpShown = errors.New("help shown")

// usageError is a bad command line: exit 2 with the command's usage on stderr.
type usageError struct {
	cmd *command
	fs  *flag.FlagSet
	msg string
}

func (e *usageError) Error() string { return e.msg }

// interruptedError is a command stopped by SIGINT/SIGTERM; msg says what was (not) done.
type interruptedError struct{ msg string }

func (e *interruptedError) Error() string { return e.msg }

// newFlagSet returns a flag set that reports its errors to us instead of printing them,
// so that usage goes to stdout for --help and to stderr for mistakes.
func newFlagSet(c *command) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args and rejects positional arguments (no command takes any).
func (a *app) parseFlags(c *command, fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommandUsage(a.stdout, c, fs)
			return errHelpShown
		}
		msg := err.Error()
		if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
			msg = "unknown flag --" + name
		}
		return &usageError{cmd: c, fs: fs, msg: msg}
	}
	if fs.NArg() > 0 {
		return &usageError{cmd: c, fs: fs, msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `stack-auth gets CipherStash service tokens.

Usage:
  stack-auth <command> [flags]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "stack-auth <command> --help" for the flags of a command.

Environment:
  CS_CLIENT_ACCESS_KEY  access key for service-to-service auth (needs CS_WORKSPACE_CRN);
                        takes priority over a device session saved by "login"
  CS_WORKSPACE_CRN      workspace CRN, e.g. crn:ap-southeast-2.aws:ZVATKW3VHMFG27DY
  CS_CONFIG_PATH        profile directory (default ~/.cipherstash)
  CS_CTS_HOST           token service URL (default: discovered from the region)
  CS_TOKEN_STORE        token cache for access keys: memory: or file:///path
                        (default: a file per access key under <profile>/tokens/)

Exit status: 0 success, 1 error, 2 usage, 4 authentication required (log in).
`)
}

func printCommandUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: stack-auth %s", c.name)
	if c.synopsis != "" {
		fmt.Fprintf(w, " %s", c.synopsis)
	}
	fmt.Fprintf(w, "\n\n%s\n", c.about)
	var b strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "  --%s", f.Name)
		if name != "" {
			fmt.Fprintf(&b, " %s", name)
		}
		fmt.Fprintf(&b, "\n        %s", usage)
		if f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(&b, " (default %s)", f.DefValue)
		}
		b.WriteByte('\n')
	})
	b.WriteString("  -h, --help\n        show this help\n")
	fmt.Fprintf(w, "\nFlags:\n%s", b.String())
}

// printError writes `error[CODE]: message`, then `help:` and `see:` lines when the error
// has them. Library messages never contain secrets, so they are printed as they are.
func printError(w io.Writer, err error) {
	ae := stackauth.AsAuthError(err)
	fmt.Fprintf(w, "error[%s]: %s\n", ae.Code, ae.Message)
	help := ae.Help
	var pe *profile.Error
	if help == "" && errors.As(err, &pe) {
		help = pe.Help() // store errors keep the profile's hint only on the cause
	}
	if ae.Code == stackauth.CodeMissingWorkspaceCrn {
		help = "Set `CS_WORKSPACE_CRN`, or pass `--workspace crn:<region>:<workspace-id>`, e.g. `--workspace crn:ap-southeast-2.aws:ZVATKW3VHMFG27DY`."
	}
	if help != "" {
		fmt.Fprintf(w, "help: %s\n", cliHelp(help))
	}
	if ae.URL != "" {
		fmt.Fprintf(w, "see: %s\n", ae.URL)
	}
}

// cliHelp points upstream's help texts, which name upstream's `stash` CLI, at this one.
func cliHelp(s string) string {
	s = strings.ReplaceAll(s, "`stash auth login`", "`stack-auth login`")
	return strings.ReplaceAll(s, "`stash login`", "`stack-auth login`")
}

func versionString() string {
	return fmt.Sprintf("stack-auth %s (%s, %s/%s)", stackauth.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

var versionCommand = &command{
	name:    "version",
	summary: "Print the version",
	about:   "Prints the version of stack-auth and of the Go toolchain that built it.",
	setup: func(fs *flag.FlagSet, _ *app) func(context.Context, *app) error {
		return func(_ context.Context, a *app) error {
			fmt.Fprintln(a.stdout, versionString())
			return nil
		}
	},
}
