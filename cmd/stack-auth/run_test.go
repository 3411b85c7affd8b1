package main

// In-process tests of run: the same CLI code under the race detector, with an environment
// of the test's own.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackauth/stack-auth/emulator"
)

func TestRunUsage(t *testing.T) {
	env := newTestEnv(t, nil)
	ctx := context.Background()
	cases := []struct {
		args       []string
		code       int
		stdout     string
		stderr     string
		emptyOther bool
	}{
		{args: nil, code: 2, stderr: "Usage:"},
		{args: []string{"--help"}, code: 0, stdout: "Commands:"},
		{args: []string{"help", "token"}, code: 0, stdout: "Usage: stack-auth token"},
		{args: []string{"help", "nope"}, code: 2, stderr: `unknown command "nope"`},
		{args: []string{"--bogus"}, code: 2, stderr: "unknown flag --bogus"},
		{args: []string{"nope"}, code: 2, stderr: `unknown command "nope"`},
		{args: []string{"version"}, code: 0, stdout: "stack-auth 0."},
		{args: []string{"--version"}, code: 0, stdout: "stack-auth 0."},
		{args: []string{"login", "--region"}, code: 2, stderr: "flag needs an argument"},
		{args: []string{"token", "extra"}, code: 2, stderr: `unexpected argument "extra"`},
		{args: []string{"serve", "--token-ttl", "soon"}, code: 2, stderr: "invalid value"},
		{args: []string{"serve", "--addr", "127.0.0.1:0", "--region", "ap-northeast-1.aws"}, code: 1, stderr: "INVALID_REGION"},
		{args: []string{"login", "--region", "ap-northeast-1.aws"}, code: 1, stderr: "ca-central-1.aws"},
		{args: []string{"status", "-h"}, code: 0, stdout: "--json"},
		{args: []string{"logout", "--help"}, code: 0, stdout: "Usage: stack-auth logout"},
	}
	for _, c := range cases {
		r := runInProcess(ctx, env, c.args...)
		if r.code != c.code || !strings.Contains(r.stdout, c.stdout) || !strings.Contains(r.stderr, c.stderr) {
			t.Errorf("%v: %v", c.args, r)
		}
		if c.code == 0 && r.stderr != "" || c.code == 2 && r.stdout != "" {
			t.Errorf("%v: usage went to the wrong stream: %v", c.args, r)
		}
	}
}

func TestLoginRegion(t *testing.T) {
	env := func(kv ...string) func(string) (string, bool) { return testEnv{}.with(kv...).lookup }
	cases := []struct {
		flag string
		env  func(string) (string, bool)
		want string
		code string
	}{
		{"", env(), "ap-southeast-2.aws", ""},
		{"us-east-1.aws", env("CS_WORKSPACE_CRN", "crn:eu-west-1.aws:ZVATKW3VHMFG27DY"), "us-east-1.aws", ""},
		{"", env("CS_WORKSPACE_CRN", "crn:eu-west-1.aws:ZVATKW3VHMFG27DY"), "eu-west-1.aws", ""},
		{"", env("CS_WORKSPACE_CRN", "garbage"), "", "INVALID_CRN"},
	}
	for _, c := range cases {
		got, err := loginRegion(c.flag, c.env)
		if c.code != "" {
			if err == nil || !strings.Contains(err.Error(), "CRN") {
				t.Errorf("loginRegion(%q): err %v, want %s", c.flag, err, c.code)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("loginRegion(%q) = %q, %v; want %q", c.flag, got, err, c.want)
		}
	}
}

func TestNotLoggedIn(t *testing.T) {
	env := newTestEnv(t, nil)
	ctx := context.Background()

	r := runInProcess(ctx, env, "logout")
	if r.code != 0 || !strings.Contains(r.stdout, "Not logged in") {
		t.Errorf("logout: %v", r)
	}
	r = runInProcess(ctx, env, "status")
	if r.code != 4 {
		t.Errorf("status: %v", r)
	}
	assertContains(t, "status stdout", r.stdout, "Credential:  none", env["CS_CONFIG_PATH"])
	assertContains(t, "status stderr", r.stderr, "error[NOT_AUTHENTICATED]", "help: Log in with `stack-auth login`")

	r = runInProcess(ctx, env, "status", "--json")
	var st struct {
		Authenticated bool
		Source        string
		Error         map[string]any
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || r.code != 4 {
		t.Fatalf("status --json: %v (%v)", r, err)
	}
	if st.Authenticated || st.Source != "none" || st.Error["type"] != "NOT_AUTHENTICATED" ||
		!strings.Contains(fmt.Sprint(st.Error["help"]), "`stack-auth login`") {
		t.Errorf("status --json: %+v", st)
	}
}

func TestSecretsStayOutOfErrors(t *testing.T) {
	env := newTestEnv(t, nil)
	const badKey = "notakey-SUPERSECRET"
	r := runInProcess(context.Background(), env.with("CS_CLIENT_ACCESS_KEY", badKey, "CS_WORKSPACE_CRN", "crn:ap-southeast-2.aws:ZVATKW3VHMFG27DY"), "status")
	if r.code != 1 {
		t.Errorf("status: %v", r)
	}
	assertContains(t, "stderr", r.stderr, "error[INVALID_ACCESS_KEY]", "help: ")
	assertNotContains(t, "status", r.stdout+r.stderr, "SUPERSECRET")

	r = runInProcess(context.Background(), env.with("CS_CLIENT_ACCESS_KEY", "CSAKkeyid.SUPERSECRET"), "token")
	if r.code != 1 {
		t.Errorf("token: %v", r)
	}
	assertContains(t, "stderr", r.stderr, "error[MISSING_WORKSPACE_CRN]", "help: ")
	assertNotContains(t, "token", r.stdout+r.stderr, "SUPERSECRET")
}

func TestUsageLimitPrintsHelpAndURL(t *testing.T) {
	emu := startEmulator(t, false)
	if err := emu.SetUsageLimit(emu.WorkspaceID(), emulator.CodeUsageLimitExceeded); err != nil {
		t.Fatal(err)
	}
	env := newTestEnv(t, emu).with("CS_CLIENT_ACCESS_KEY", emu.AccessKey(), "CS_WORKSPACE_CRN", emu.WorkspaceCRN())
	r := runInProcess(context.Background(), env, "token")
	if r.code != 1 || r.stdout != "" {
		t.Fatalf("token: %v", r)
	}
	assertContains(t, "stderr", r.stderr, "error[USAGE_LIMIT_EXCEEDED]: ", "\nhelp: ", "\nsee: https://dashboard.cipherstash.com/billing\n")
}

func TestLoginInProcess(t *testing.T) {
	emu, env := emulatorEnv(t, true)
	// Binding the device fails once: the login still succeeds, with a warning.
	emu.InjectFault(emulator.Fault{Path: "/zerokms/create-client", Status: 500, Count: 1})

	r := runInProcess(context.Background(), env, "login", "--no-browser")
	if r.code != 0 {
		t.Fatalf("login: %v", r)
	}
	assertContains(t, "stdout", r.stdout, "Logged in to workspace "+emu.WorkspaceCRN())
	assertContains(t, "stderr", r.stderr, "Waiting for approval", "warning: logged in, but could not register this device with ZeroKMS")
	ws := filepath.Join(env["CS_CONFIG_PATH"], "workspaces", emu.WorkspaceID())
	assertMode0600(t, filepath.Join(ws, "auth.json"))
	if _, err := os.Stat(filepath.Join(ws, "secretkey.json")); !os.IsNotExist(err) {
		t.Errorf("secretkey.json after a failed binding: %v", err)
	}
	// The device identity sent at login is the one saved in device.json.
	var sawIdentity bool
	for _, req := range emu.Requests() {
		if req.Path == "/oauth/device/code" && strings.Contains(strings.Join(req.Keys, ","), "device_instance_id") {
			sawIdentity = true
		}
	}
	if !sawIdentity {
		t.Error("the device code request carried no device_instance_id")
	}

	// Logging in again binds the device this time.
	if r := runInProcess(context.Background(), env, "login", "--no-browser"); r.code != 0 || strings.Contains(r.stderr, "warning") {
		t.Fatalf("second login: %v", r)
	}
	assertMode0600(t, filepath.Join(ws, "secretkey.json"))

	r = runInProcess(context.Background(), env, "token", "--store", "memory:")
	if r.code != 0 || !strings.Contains(r.stderr, "--store only applies to access keys") {
		t.Errorf("token --store with a device session: %v", r)
	}

	// A status with both an access key and a session says which one wins and why.
	r = runInProcess(context.Background(), env.with("CS_CLIENT_ACCESS_KEY", emu.AccessKey(), "CS_WORKSPACE_CRN", emu.WorkspaceCRN()), "status")
	if r.code != 0 {
		t.Fatalf("status: %v", r)
	}
	assertContains(t, "status", r.stdout, "access key", "takes priority", "is not used while CS_CLIENT_ACCESS_KEY is set")
}

func TestLoginCancelledInProcess(t *testing.T) {
	emu, env := emulatorEnv(t, false)
	login := startInProcess(t, env, "login", "--no-browser")
	login.waitLine(t, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "Code: ") })
	if code := login.interrupt(t); code != 130 {
		t.Errorf("exit %d, want 130; stderr:\n%s", code, login.stderr.String())
	}
	assertContains(t, "stderr", login.stderr.String(), "Login cancelled")
	if _, err := os.Stat(filepath.Join(env["CS_CONFIG_PATH"], "workspaces", emu.WorkspaceID(), "auth.json")); !os.IsNotExist(err) {
		t.Errorf("auth.json after a cancelled login: %v", err)
	}
}
