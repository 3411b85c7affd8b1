package main

// Tests of issue 16 item 11: tokens cached between runs, exit statuses, --profile and
// --workspace, and the browser message.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Three runs with one access key make one token request: the token is cached in a 0600
// file under the profile directory, one file per credential.
func TestAccessKeyTokenCachedBetweenRuns(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, false)
	env := newTestEnv(t, emu).with("CS_CLIENT_ACCESS_KEY", emu.AccessKey(), "CS_WORKSPACE_CRN", emu.WorkspaceCRN())

	var first string
	for i := 0; i < 3; i++ {
		r := runBinary(t, env, "token")
		if r.code != 0 {
			t.Fatalf("run %d: %v", i, r)
		}
		if i == 0 {
			first = r.stdout
		} else if r.stdout != first {
			t.Errorf("run %d printed another token", i)
		}
	}
	if n := emu.RequestCount("/api/authorise"); n != 1 {
		t.Fatalf("3 runs made %d /api/authorise requests, want 1", n)
	}
	files, _ := filepath.Glob(filepath.Join(env["CS_CONFIG_PATH"], "tokens", "*.json"))
	if len(files) != 1 {
		t.Fatalf("token files under the profile: %v, want one", files)
	}
	assertMode0600(t, files[0])
	data, _ := os.ReadFile(files[0])
	key := emu.AccessKey()
	_, secret, _ := strings.Cut(key, ".")
	assertNotContains(t, "token file name", files[0], key, secret)
	if !strings.Contains(string(data), strings.TrimSpace(first)) {
		t.Errorf("the token file does not hold the token printed")
	}

	// Another key of another workspace is another credential: its own file and request,
	// never the first key's token.
	ws2 := emu.NewWorkspace()
	key2, err := emu.NewAccessKey(ws2)
	if err != nil {
		t.Fatal(err)
	}
	crn2 := strings.Replace(emu.WorkspaceCRN(), emu.WorkspaceID(), ws2, 1)
	r := runBinary(t, env.with("CS_CLIENT_ACCESS_KEY", key2, "CS_WORKSPACE_CRN", crn2), "token")
	if r.code != 0 || r.stdout == first {
		t.Fatalf("second credential: %v", r)
	}
	if claims := jwtClaims(t, r.stdout); claims["workspace"] != ws2 {
		t.Errorf("second credential's token is for workspace %v, want %s", claims["workspace"], ws2)
	}
	if n := emu.RequestCount("/api/authorise"); n != 2 {
		t.Errorf("%d /api/authorise requests after a second credential, want 2", n)
	}
	files, _ = filepath.Glob(filepath.Join(env["CS_CONFIG_PATH"], "tokens", "*.json"))
	if len(files) != 2 {
		t.Errorf("token files: %v, want two", files)
	}
}

// Authentication required is exit 4 (as gh); other errors stay 1 and usage 2.
func TestExitStatuses(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil)
	ctx := context.Background()
	for _, args := range [][]string{{"token"}, {"status"}, {"status", "--json"}} {
		if r := runInProcess(ctx, env, args...); r.code != 4 || !strings.Contains(r.stderr, "NOT_AUTHENTICATED") {
			t.Errorf("%v without credentials: %v, want exit 4", args, r)
		}
	}
	if r := runBinary(t, env, "token"); r.code != 4 {
		t.Errorf("the binary without credentials: %v, want exit 4", r)
	}
	if r := runInProcess(ctx, env.with("CS_WORKSPACE_CRN", "garbage"), "token"); r.code != 1 {
		t.Errorf("bad CRN: %v, want exit 1", r)
	}
	if r := runInProcess(ctx, env, "token", "--timeout=soon"); r.code != 2 {
		t.Errorf("bad --timeout: %v, want exit 2", r)
	}
}

// --profile names the profile directory and --workspace picks a saved workspace, each
// instead of CS_CONFIG_PATH and current_workspace; --timeout=5s style flags work.
func TestProfileAndWorkspaceFlags(t *testing.T) {
	t.Parallel()
	emu, env := emulatorEnv(t, true)
	prof := env["CS_CONFIG_PATH"]
	delete(env, "CS_CONFIG_PATH")
	ctx := context.Background()

	if r := runInProcess(ctx, env, "login", "--no-browser", "--profile="+prof); r.code != 0 {
		t.Fatalf("login --profile: %v", r)
	}
	if _, err := os.Stat(filepath.Join(prof, "workspaces", emu.WorkspaceID(), "auth.json")); err != nil {
		t.Fatalf("login --profile did not save there: %v", err)
	}
	if r := runInProcess(ctx, env, "token", "--timeout=5s"); r.code != 4 {
		t.Errorf("token without --profile must not find the session: %v", r)
	}
	r := runInProcess(ctx, env, "token", "--timeout=5s", "--profile", prof)
	if r.code != 0 {
		t.Fatalf("token --profile: %v", r)
	}
	if claims := jwtClaims(t, r.stdout); claims["workspace"] != emu.WorkspaceID() {
		t.Errorf("token --profile: workspace %v", claims["workspace"])
	}
	for _, ws := range []string{emu.WorkspaceID(), emu.WorkspaceCRN()} {
		if r := runInProcess(ctx, env, "token", "--profile", prof, "--workspace", ws); r.code != 0 {
			t.Errorf("token --workspace %s: %v", ws, r)
		}
	}
	other := emu.NewWorkspace()
	r = runInProcess(ctx, env, "status", "--profile", prof, "--workspace="+other)
	if r.code != 4 || strings.Contains(r.stdout, emu.WorkspaceID()) {
		t.Errorf("status --workspace of a workspace never logged in to: %v, want exit 4", r)
	}
	r = runInProcess(ctx, env, "logout", "--profile", prof, "--workspace", emu.WorkspaceID())
	if r.code != 0 || !strings.Contains(r.stdout, "Logged out of workspace "+emu.WorkspaceID()) {
		t.Errorf("logout --workspace: %v", r)
	}
}

// "Opened your browser" is printed only when the launcher succeeded.
func TestLoginSaysOpenedOnlyWhenOpened(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, true)
	for _, c := range []struct {
		name   string
		script string
		want   string
		absent string
	}{
		{"launcher fails", "#!/bin/sh\nexit 3\n", "Could not open a browser", "Opened your browser"},
		{"launcher succeeds", "#!/bin/sh\necho \"$1\" > \"$(dirname \"$0\")/opened\"\n", "Opened your browser", "Could not open a browser"},
	} {
		bin := t.TempDir()
		if err := os.WriteFile(filepath.Join(bin, "xdg-open"), []byte(c.script), 0o755); err != nil {
			t.Fatal(err)
		}
		env := newTestEnv(t, emu)
		env["PATH"] = bin + ":" + env["PATH"]
		r := runBinary(t, env, "login")
		if r.code != 0 {
			t.Fatalf("%s: login: %v", c.name, r)
		}
		assertContains(t, c.name, r.stdout, c.want)
		if strings.Contains(r.stdout, c.absent) {
			t.Errorf("%s: stdout says %q:\n%s", c.name, c.absent, r.stdout)
		}
		if c.want == "Opened your browser" {
			opened, err := os.ReadFile(filepath.Join(bin, "opened"))
			if err != nil || !strings.Contains(string(opened), lineValue(t, r.stdout, "URL:")) {
				t.Errorf("%s: the launcher was not given the URL: %q %v", c.name, opened, err)
			}
		}
	}
}

// A missing CRN tells a CLI user about the CLI's own way to give one.
func TestMissingCrnHelpNamesTheCLI(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, false)
	env := newTestEnv(t, emu).with("CS_CLIENT_ACCESS_KEY", emu.AccessKey())
	r := runInProcess(context.Background(), env, "token")
	if r.code != 1 || !strings.Contains(r.stderr, "error[MISSING_WORKSPACE_CRN]") || !strings.Contains(r.stderr, "--workspace crn:") {
		t.Fatalf("%v", r)
	}
	if strings.Contains(r.stderr, "WithWorkspaceCrn") || strings.Contains(r.stderr, "AutoStrategyBuilder") {
		t.Errorf("the help names a library API: %v", r)
	}
	if r := runInProcess(context.Background(), env, "token", "--workspace", emu.WorkspaceCRN()); r.code != 0 {
		t.Errorf("--workspace with a CRN gives the access key its workspace: %v", r)
	}
}
