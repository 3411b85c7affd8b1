package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stackauth/stack-auth/emulator"
)

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
