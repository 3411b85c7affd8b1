package stackauth_test

// docs/architecture.md D1: a credential exchange that may have reached the server is finished and saved
// whatever the host does next; Flush waits for it.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	stackauth "github.com/stackauth/stack-auth/core"
	"github.com/stackauth/stack-auth/emulator"
)

// loginToEmulator runs the device-code login into a new profile directory and returns it
// with the path of the session it saved.
func loginToEmulator(t *testing.T, w *world) (dir, authPath string) {
	t.Helper()
	dir = t.TempDir()
	dc, err := stackauth.NewDeviceCodeStrategy(w.emu.Region(), stackauth.CLIClientID, w.opts(stackauth.WithProfileDir(dir))...)
	require.NoError(t, err)
	pending, err := dc.Begin(context.Background())
	require.NoError(t, err)
	_, err = pending.PollForToken(context.Background())
	require.NoError(t, err)
	return dir, filepath.Join(dir, "workspaces", w.emu.WorkspaceID(), "auth.json")
}

// readSession returns auth.json's fields.
func readSession(t *testing.T, authPath string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(authPath)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	return m
}

// expireSession marks the saved session's access token expired, so the next use refreshes.
func expireSession(t *testing.T, authPath string, now time.Time) {
	t.Helper()
	m := readSession(t, authPath)
	m["expires_at"] = now.Add(-time.Minute).Unix()
	data, err := json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(authPath, data, 0o600))
}

func TestClosingMidRefreshStillSavesTheRotatedRefreshToken(t *testing.T) {
	w := newWorld(t, emulator.Config{AutoApprove: true})
	dir, authPath := loginToEmulator(t, w)
	expireSession(t, authPath, w.clock.Now())
	spent := readSession(t, authPath)["refresh_token"]
	// The server rotates the refresh token at once but answers 700 ms later.
	w.emu.InjectFault(emulator.Fault{Path: "/oauth/token", DelayAfter: 700 * time.Millisecond, Count: 1})

	s, err := stackauth.DeviceSessionStrategyFromProfile(w.opts(stackauth.WithProfileDir(dir))...)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err = s.GetToken(ctx)
	cancel()
	require.Error(t, err, "the caller gave up before the answer came")
	s.Close() // returns at once; the exchange goes on

	flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, stackauth.Flush(flushCtx))
	saved := readSession(t, authPath)
	assert.True(t, saved["refresh_token"] != spent, "the rotated refresh token was saved") // never print it
	assert.Equal(t, 1, w.emu.RequestCount("/oauth/token"))

	// The next run starts from the saved session: no INVALID_GRANT, no new login.
	next, err := stackauth.DeviceSessionStrategyFromProfile(w.opts(stackauth.WithProfileDir(dir))...)
	require.NoError(t, err)
	defer next.Close()
	_, err = next.GetToken(context.Background())
	require.NoError(t, err)
}

func TestFlushReturnsAtOnceWhenNothingIsPending(t *testing.T) {
	settle, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, stackauth.Flush(settle)) // what earlier tests left in flight
	ended, cancel := context.WithCancel(context.Background())
	cancel() // even an ended context: nothing to wait for is not a failure
	assert.NoError(t, stackauth.Flush(ended))
}
