package main

// End-to-end tests: the real binary, as a subprocess, against an in-process emulator.

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackauth/stack-auth/emulator"
)

func TestDeviceLoginEndToEnd(t *testing.T) {
	t.Parallel()
	emu, env := emulatorEnv(t, true)
	prof := env["CS_CONFIG_PATH"]
	ws := emu.WorkspaceID()

	r := runBinary(t, env, "login", "--no-browser")
	if r.code != 0 {
		t.Fatalf("login: %v", r)
	}
	assertContains(t, "login stdout", r.stdout, "Code: ", "/device", "Logged in to workspace "+emu.WorkspaceCRN())
	// The user code and the verification URL printed are the ones the emulator issued.
	code := lineValue(t, r.stdout, "Code:")
	url := lineValue(t, r.stdout, "URL:")
	if !strings.HasPrefix(url, emu.URL()) || !strings.Contains(url, code) {
		t.Errorf("verification URL %q should be the emulator's and carry the code %q", url, code)
	}
	if got := emu.RequestCount("/oauth/device/code"); got != 1 {
		t.Errorf("device code requests: %d, want 1", got)
	}

	authPath := filepath.Join(prof, "workspaces", ws, "auth.json")
	for _, p := range []string{
		filepath.Join(prof, "current_workspace"),
		authPath,
		filepath.Join(prof, "device.json"),
		filepath.Join(prof, "workspaces", ws, "secretkey.json"),
	} {
		assertMode0600(t, p)
	}
	if cw, _ := os.ReadFile(filepath.Join(prof, "current_workspace")); strings.TrimSpace(string(cw)) != ws {
		t.Errorf("current_workspace = %q, want %q", cw, ws)
	}
	auth := readJSONFile(t, authPath)
	for _, k := range []string{"access_token", "refresh_token", "region", "client_id", "device_instance_id"} {
		if s, _ := auth[k].(string); s == "" {
			t.Errorf("auth.json: %s missing or empty", k)
		}
	}
	if auth["region"] != "ap-southeast-2.aws" || auth["client_id"] != "cli" {
		t.Errorf("auth.json region/client_id = %v/%v", auth["region"], auth["client_id"])
	}
	device := readJSONFile(t, filepath.Join(prof, "device.json"))
	if auth["device_instance_id"] != device["device_instance_id"] {
		t.Errorf("auth.json device_instance_id %v != device.json's %v", auth["device_instance_id"], device["device_instance_id"])
	}
	accessToken, _ := auth["access_token"].(string)
	refreshToken, _ := auth["refresh_token"].(string)

	// token: the bearer JWT of the emulator's workspace.
	r = runBinary(t, env, "token")
	if r.code != 0 {
		t.Fatalf("token: %v", r)
	}
	if !strings.HasSuffix(r.stdout, "\n") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("token should print one line, got %q", r.stdout)
	}
	bearer := strings.TrimSpace(r.stdout)
	if claims := jwtClaims(t, bearer); claims["workspace"] != ws {
		t.Errorf("token workspace claim = %v, want %s", claims["workspace"], ws)
	}

	// token --json: exactly the six keys.
	r = runBinary(t, env, "token", "--json")
	if r.code != 0 {
		t.Fatalf("token --json: %v", r)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &obj); err != nil {
		t.Fatalf("token --json output: %v", err)
	}
	for _, k := range []string{"token", "subject", "workspaceId", "issuer", "services", "expiresAt"} {
		if _, ok := obj[k]; !ok {
			t.Errorf("token --json: missing %q", k)
		}
	}
	if len(obj) != 6 || obj["workspaceId"] != ws {
		t.Errorf("token --json: %d keys, workspaceId %v", len(obj), obj["workspaceId"])
	}

	// status: names the source and the workspace, never a secret.
	r = runBinary(t, env, "status")
	if r.code != 0 {
		t.Fatalf("status: %v", r)
	}
	assertContains(t, "status", r.stdout, "device session", emu.WorkspaceCRN(), prof, " (in ")
	assertNotContains(t, "status", r.stdout+r.stderr, accessToken, refreshToken, bearer)
	r = runBinary(t, env, "status", "--json")
	if r.code != 0 {
		t.Fatalf("status --json: %v", r)
	}
	var st statusReport
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json: %v", err)
	}
	if !st.Authenticated || st.Source != "device_session" || st.WorkspaceCrn != emu.WorkspaceCRN() || st.ExpiresAt == 0 {
		t.Errorf("status --json: %+v", st)
	}
	assertNotContains(t, "status --json", r.stdout+r.stderr, accessToken, refreshToken, bearer)

	// logout: auth.json goes, the device identity and client key stay.
	r = runBinary(t, env, "logout")
	if r.code != 0 {
		t.Fatalf("logout: %v", r)
	}
	assertContains(t, "logout", r.stdout, authPath)
	if _, err := os.Stat(authPath); !os.IsNotExist(err) {
		t.Errorf("auth.json still there after logout: %v", err)
	}
	for _, p := range []string{filepath.Join(prof, "device.json"), filepath.Join(prof, "workspaces", ws, "secretkey.json")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("logout removed %s: %v", p, err)
		}
	}
	r = runBinary(t, env, "logout")
	if r.code != 0 || !strings.Contains(r.stdout, "Not logged in") {
		t.Errorf("second logout: %v", r)
	}

	r = runBinary(t, env, "token")
	if r.code != 4 || r.stdout != "" {
		t.Fatalf("token after logout: %v", r)
	}
	assertContains(t, "token after logout", r.stderr, "error[NOT_AUTHENTICATED]", "\nhelp: ")
}

// lineValue returns the rest of the first stdout line whose trimmed text starts with prefix.
func lineValue(t *testing.T, out, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), prefix); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %q line in:\n%s", prefix, out)
	return ""
}

func TestAccessKeyEndToEnd(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, false)
	key := emu.AccessKey()
	env := newTestEnv(t, emu).with("CS_CLIENT_ACCESS_KEY", key, "CS_WORKSPACE_CRN", emu.WorkspaceCRN())

	r := runBinary(t, env, "token")
	if r.code != 0 {
		t.Fatalf("token: %v", r)
	}
	if claims := jwtClaims(t, r.stdout); claims["workspace"] != emu.WorkspaceID() {
		t.Errorf("workspace claim = %v", claims["workspace"])
	}
	bearer := strings.TrimSpace(r.stdout)

	r = runBinary(t, env, "status")
	if r.code != 0 {
		t.Fatalf("status: %v", r)
	}
	_, secret, _ := strings.Cut(key, ".")
	keyID := strings.TrimPrefix(strings.SplitN(key, ".", 2)[0], "CSAK")
	assertContains(t, "status", r.stdout, "access key", "CS_CLIENT_ACCESS_KEY", keyID, emu.WorkspaceCRN())
	assertNotContains(t, "status", r.stdout+r.stderr, key, secret, bearer)

	r = runBinary(t, env, "status", "--json")
	if r.code != 0 {
		t.Fatalf("status --json: %v", r)
	}
	assertNotContains(t, "status --json", r.stdout+r.stderr, key, secret, bearer)
}

func TestTokenStoreSharedAcrossProcesses(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, false)
	env := newTestEnv(t, emu).with("CS_CLIENT_ACCESS_KEY", emu.AccessKey(), "CS_WORKSPACE_CRN", emu.WorkspaceCRN())
	storePath := filepath.Join(t.TempDir(), "tok.json")
	store := "file://" + storePath
	first := runBinary(t, env, "token", "--store", store)
	if first.code != 0 {
		t.Fatalf("first token: %v", first)
	}
	if n := emu.RequestCount("/api/authorise"); n != 1 {
		t.Fatalf("first process: %d /api/authorise requests, want 1", n)
	}
	assertMode0600(t, storePath)

	second := runBinary(t, env, "token", "--store", store)
	if second.code != 0 || second.stdout != first.stdout {
		t.Fatalf("second process did not serve the stored token: %v", second)
	}
	// CS_TOKEN_STORE names the same store when there is no flag.
	third := runBinary(t, env.with("CS_TOKEN_STORE", store), "token")
	if third.code != 0 || third.stdout != first.stdout {
		t.Fatalf("CS_TOKEN_STORE was not used: %v", third)
	}
	if n := emu.RequestCount("/api/authorise"); n != 1 {
		t.Errorf("%d /api/authorise requests, want 1: the later processes must use the store", n)
	}
}

// The CLI gives up on a refresh the server has already performed (it rotated the refresh
// token; its answer is slow): before exiting it waits for the answer and saves it, so the
// next run is not refused with INVALID_GRANT (docs/architecture.md D1).
func TestTokenGivingUpMidRefreshStillSavesTheRotatedRefreshToken(t *testing.T) {
	t.Parallel()
	emu, env := emulatorEnv(t, true)
	if r := runBinary(t, env, "login", "--no-browser"); r.code != 0 {
		t.Fatalf("login: %v", r)
	}
	authPath := filepath.Join(env["CS_CONFIG_PATH"], "workspaces", emu.WorkspaceID(), "auth.json")
	auth := readJSONFile(t, authPath)
	spent := auth["refresh_token"]
	auth["expires_at"] = time.Now().Add(-time.Minute).Unix()
	data, _ := json.Marshal(auth)
	if err := os.WriteFile(authPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	emu.InjectFault(emulator.Fault{Path: "/oauth/token", DelayAfter: 700 * time.Millisecond, Count: 1})

	if r := runBinary(t, env, "token", "--timeout", "300ms"); r.code == 0 {
		t.Fatalf("token should have timed out: %v", r)
	}
	if readJSONFile(t, authPath)["refresh_token"] == spent { // never print it
		t.Fatal("auth.json still holds the spent refresh token")
	}
	if r := runBinary(t, env, "token"); r.code != 0 {
		t.Fatalf("the next run: %v", r)
	}
	if n := emu.RequestCount("/oauth/token"); n != 1 {
		t.Errorf("refresh requests: %d, want 1", n)
	}
}

func TestCommandLineErrors(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil)

	t.Run("bad CS_WORKSPACE_CRN", func(t *testing.T) {
		for _, args := range [][]string{{"token"}, {"status"}, {"login", "--no-browser"}} {
			r := runBinary(t, env.with("CS_WORKSPACE_CRN", "crn:nowhere:nope"), args...)
			if r.code != 1 {
				t.Errorf("%v: %v", args, r)
			}
			assertContains(t, strings.Join(args, " "), r.stderr, "error[INVALID_CRN]: ", "\nhelp: A workspace CRN looks like")
		}
	})
	t.Run("unknown command", func(t *testing.T) {
		r := runBinary(t, env, "frobnicate")
		if r.code != 2 || r.stdout != "" {
			t.Errorf("%v", r)
		}
		assertContains(t, "stderr", r.stderr, `unknown command "frobnicate"`, "Usage:")
	})
	t.Run("no command", func(t *testing.T) {
		if r := runBinary(t, env); r.code != 2 || !strings.Contains(r.stderr, "Usage:") {
			t.Errorf("%v", r)
		}
	})
	t.Run("bad flag", func(t *testing.T) {
		r := runBinary(t, env, "token", "--frob")
		if r.code != 2 || r.stdout != "" {
			t.Errorf("%v", r)
		}
		assertContains(t, "stderr", r.stderr, "unknown flag --frob", "Usage: stack-auth token")
	})
	t.Run("help", func(t *testing.T) {
		for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
			r := runBinary(t, env, args...)
			if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "Commands:") {
				t.Errorf("%v: %v", args, r)
			}
		}
		for _, c := range commands {
			for _, h := range []string{"--help", "-h"} {
				r := runBinary(t, env, c.name, h)
				if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "Usage: stack-auth "+c.name) {
					t.Errorf("%s %s: %v", c.name, h, r)
				}
			}
		}
	})
	t.Run("version", func(t *testing.T) {
		r := runBinary(t, env, "version")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "stack-auth ") {
			t.Errorf("%v", r)
		}
	})
}

func TestServe(t *testing.T) {
	t.Parallel()
	serve := startBinary(t, newTestEnv(t, nil), "serve", "--addr", "127.0.0.1:0", "--auto-approve")
	first := serve.waitLine(t, func(string) bool { return true })
	var start map[string]string
	if err := json.Unmarshal([]byte(first), &start); err != nil {
		t.Fatalf("first stdout line is not the JSON start line: %v", err)
	}
	for _, k := range []string{"url", "workspaceCrn", "accessKey", "zerokmsUrl", "addr"} {
		if start[k] == "" {
			t.Errorf("start line: %q missing", k)
		}
	}
	if len(start) != 5 {
		t.Errorf("start line has %d keys, want 5", len(start))
	}
	if !strings.HasPrefix(start["url"], "http://127.0.0.1:") {
		t.Errorf("url %q is not on 127.0.0.1", start["url"])
	}
	resp, err := http.Get(start["url"] + ".well-known/jwks.json")
	if err != nil {
		t.Fatalf("emulator not reachable: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("jwks: %s", resp.Status)
	}

	// The emulator it runs works for the CLI itself, auto-approve included.
	env := newTestEnv(t, nil).with("CS_CTS_HOST", start["url"])
	if r := runBinary(t, env, "login", "--no-browser"); r.code != 0 {
		t.Errorf("login against serve: %v", r)
	}

	if code := serve.interrupt(t); code != 0 {
		t.Errorf("serve exited %d on SIGINT, want 0; stderr:\n%s", code, serve.stderr.String())
	}
}

func TestLoginInterrupted(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, false) // nobody approves: login waits until interrupted
	env := newTestEnv(t, emu)
	login := startBinary(t, env, "login", "--no-browser")
	login.waitLine(t, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "Code: ") })

	if code := login.interrupt(t); code != 130 {
		t.Fatalf("login exited %d on SIGINT, want 130; stderr:\n%s", code, login.stderr.String())
	}
	stderr := login.stderr.String()
	assertContains(t, "stderr", stderr, "Login cancelled")
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
		t.Errorf("stack trace on stderr:\n%s", stderr)
	}
	_ = filepath.WalkDir(env["CS_CONFIG_PATH"], func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "auth.json" {
			t.Errorf("interrupted login left %s", p)
		}
		return nil
	})
}
