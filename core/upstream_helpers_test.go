package stackauth

// Helpers shared by the tests ported from upstream (the test cases mapped in
// docs/upstream.md 10). Every name starts with "port" so it cannot collide with other test files.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stackauth/stack-auth/core/internal/cts"
	"github.com/stackauth/stack-auth/core/profile"
)

// portCTS is an unexported CTS wire client pointed at baseURL, reading time from clock.
func portCTS(t testing.TB, baseURL string, clock Clock) *ctsClient {
	t.Helper()
	u, err := url.Parse(baseURL)
	require.NoError(t, err)
	return buildOptions([]Option{WithClock(clock)}).cts(cts.EnsureTrailingSlash(u))
}

// portOpts points a strategy at fake with a deterministic clock and no environment.
func portOpts(fake *fakeCTS, clock Clock, more ...Option) []Option {
	return append([]Option{WithBaseURL(fake.URL), WithClock(clock), emptyEnv()}, more...)
}

// portRequireCode asserts err is an *AuthError (possibly wrapped) with code.
func portRequireCode(t testing.TB, err error, code string) *AuthError {
	t.Helper()
	require.Error(t, err)
	ae := AsAuthError(err)
	require.NotNil(t, ae)
	require.Equalf(t, code, ae.Code, "error %q", err.Error())
	return ae
}

// portRequireWorkspace asserts tok (a Token or ServiceToken) was issued for workspace want.
func portRequireWorkspace(t testing.TB, tok interface{ WorkspaceID() (string, error) }, want string) {
	t.Helper()
	ws, err := tok.WorkspaceID()
	require.NoError(t, err)
	require.Equal(t, want, ws)
}

// portDecodeJSON decodes data into a T, failing the test on malformed JSON.
func portDecodeJSON[T any](t testing.TB, data []byte) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(data, &v))
	return v
}

// portJWT is a JWT for workspace ws expiring at exp, with the fixture claim set.
func portJWT(t testing.TB, ws string, exp int64) string {
	return makeJWT(t, ctsClaims(ws, exp))
}

// portSessionToken is a device-session token as login writes it: region, client id and
// refresh token set, expiring ttl after clock's now.
func portSessionToken(t testing.TB, clock Clock, ws string, ttl time.Duration) *Token {
	exp := clock.Now().Add(ttl).Unix()
	return &Token{
		AccessToken:  NewSecretToken(portJWT(t, ws, exp)),
		RefreshToken: NewSecretToken("refresh-token-1"),
		TokenType:    "Bearer",
		ExpiresAt:    uint64(exp),
		Region:       testRegion,
		ClientID:     CLIClientID,
	}
}

// portWriteProfile lays out a profile directory as login does: current_workspace
// names ws and workspaces/<ws>/auth.json holds authJSON (written 0600).
func portWriteProfile(t testing.TB, dir, ws string, authJSON []byte) string {
	t.Helper()
	wsDir := filepath.Join(dir, "workspaces", ws)
	require.NoError(t, os.MkdirAll(wsDir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "current_workspace"), []byte(ws+"\n"), 0o600))
	if authJSON != nil {
		require.NoError(t, os.WriteFile(filepath.Join(wsDir, "auth.json"), authJSON, 0o600))
	}
	return wsDir
}

// portTokenJSON is the JSON of tok.
func portTokenJSON(t testing.TB, tok *Token) []byte {
	t.Helper()
	data, err := json.Marshal(tok)
	require.NoError(t, err)
	return data
}

// portWriteDeviceIdentity saves device.json at the profile root, so that tests know the
// device name that binding sends.
func portWriteDeviceIdentity(t testing.TB, dir string, id DeviceIdentity) {
	t.Helper()
	require.NoError(t, profile.New(dir).Save(profile.DeviceFile, id))
}

// portFileMode is the permission bits of path.
func portFileMode(t testing.TB, path string) os.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	require.NoError(t, err)
	return info.Mode().Perm()
}

// portOAuthError answers with an RFC 6749 error body whose description is
// "<code> occurred", as upstream's fixtures do.
func portOAuthError(status int, code string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, status, map[string]any{"error": code, "error_description": code + " occurred"})
	}
}

// portClosedURL is the URL of a server that has already shut down: connecting fails.
func portClosedURL(t testing.TB) string {
	f := newFakeCTS(t)
	u := f.URL
	f.Close()
	return u
}

// portCtx is a context cancelled at the end of the test.
func portCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}
