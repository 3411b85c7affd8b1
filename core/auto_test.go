package stackauth

// docs/upstream.md 10.11, upstream auto_strategy.rs (detect_inner and builder), plus the detection
// rules of docs/protocol.md 5.

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// portProfileWithSession writes a logged-in device session to a fresh profile dir.
func portProfileWithSession(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	portWriteProfile(t, dir, testWS, portTokenJSON(t, portSessionToken(t, testClock(), testWS, time.Hour)))
	return dir
}

func portDetect(t *testing.T, env map[string]string, opts ...Option) (*AutoStrategy, error) {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["CS_CONFIG_PATH"]; !ok {
		env["CS_CONFIG_PATH"] = t.TempDir() // never the developer's ~/.cipherstash
	}
	a, err := DetectAutoStrategy(append([]Option{envOf(env), WithClock(testClock())}, opts...)...)
	if a != nil {
		t.Cleanup(a.Close)
	}
	return a, err
}

func TestAutoDetect_AccessKeyWithValidCrn(t *testing.T) {
	a, err := portDetect(t, map[string]string{"CS_CLIENT_ACCESS_KEY": testAccessKey, "CS_WORKSPACE_CRN": testCRN})
	require.NoError(t, err)
	assert.Equal(t, SourceAccessKey, a.Source)
	require.IsType(t, &AccessKeyStrategy{}, a.CachingStrategy)
	require.NotNil(t, a.Crn)
	assert.Equal(t, testCRN, a.Crn.String())
}

func TestAutoDetect_AccessKeyWithoutCrnReturnsMissingWorkspaceCrn(t *testing.T) {
	_, err := portDetect(t, map[string]string{"CS_CLIENT_ACCESS_KEY": testAccessKey})
	portRequireCode(t, err, CodeMissingWorkspaceCrn)
}

func TestAutoDetect_InvalidAccessKeyFormatReturnsInvalidAccessKey(t *testing.T) {
	_, err := portDetect(t, map[string]string{"CS_CLIENT_ACCESS_KEY": "not-a-valid-key", "CS_WORKSPACE_CRN": testCRN})
	portRequireCode(t, err, CodeInvalidAccessKey)
}

func TestAutoDetect_EmptyAccessKeyVariableCountsAsPresent(t *testing.T) {
	_, err := portDetect(t, map[string]string{"CS_CLIENT_ACCESS_KEY": "", "CS_WORKSPACE_CRN": testCRN})
	portRequireCode(t, err, CodeInvalidAccessKey)
}

func TestAutoDetect_OAuthStoreWithValidToken(t *testing.T) {
	a, err := portDetect(t, map[string]string{"CS_CONFIG_PATH": portProfileWithSession(t)})
	require.NoError(t, err)
	assert.Equal(t, SourceDeviceSession, a.Source)
	require.IsType(t, &DeviceSessionStrategy{}, a.CachingStrategy)
	require.NotNil(t, a.Crn)
	assert.Equal(t, testCRN, a.Crn.String())

	// The profile-loaded session talks to the token's issuer unless overridden.
	r, ok := a.CachingStrategy.(*DeviceSessionStrategy).Engine.r.(*sessionRefresher)
	require.True(t, ok)
	assert.Equal(t, "https://cts.example.com/", r.cts.base.String())
}

func TestAutoDetect_OAuthStoreWithoutTokenFileReturnsNotAuthenticated(t *testing.T) {
	dir := t.TempDir()
	portWriteProfile(t, dir, testWS, nil)
	_, err := portDetect(t, map[string]string{"CS_CONFIG_PATH": dir})
	portRequireCode(t, err, CodeNotAuthenticated)
}

func TestAutoDetect_NoCredentialsReturnsNotAuthenticated(t *testing.T) {
	_, err := portDetect(t, nil)
	ae := portRequireCode(t, err, CodeNotAuthenticated)
	assert.Equal(t, "Not authenticated", ae.Error())
	assert.Contains(t, ae.Help, "stash login")
	assert.Contains(t, ae.Help, "CS_CLIENT_ACCESS_KEY")
}

func TestAutoDetect_AccessKeyTakesPriorityOverOAuthStore(t *testing.T) {
	a, err := portDetect(t, map[string]string{"CS_CONFIG_PATH": portProfileWithSession(t),
		"CS_CLIENT_ACCESS_KEY": testAccessKey, "CS_WORKSPACE_CRN": testCRN})
	require.NoError(t, err)
	assert.Equal(t, SourceAccessKey, a.Source)
}

func TestAutoDetect_ExplicitAccessKeyAndCrn(t *testing.T) {
	a, err := portDetect(t, nil, WithAccessKey(testAccessKey), WithWorkspaceCrn(testCRN))
	require.NoError(t, err)
	assert.Equal(t, SourceAccessKey, a.Source)
	assert.Equal(t, testCRN, a.Crn.String())
}

func TestAutoDetect_ExplicitAccessKeyWithoutCrnAndNoEnvReturnsMissingWorkspaceCrn(t *testing.T) {
	_, err := portDetect(t, nil, WithAccessKey(testAccessKey))
	portRequireCode(t, err, CodeMissingWorkspaceCrn)
}

func TestAutoDetect_InvalidCrnEnvVarReturnsInvalidCrn(t *testing.T) {
	cases := map[string]map[string]string{
		"with an access key":    {"CS_CLIENT_ACCESS_KEY": testAccessKey, "CS_WORKSPACE_CRN": "not-a-crn"},
		"without an access key": {"CS_WORKSPACE_CRN": "not-a-crn"},
		"with only a profile":   {"CS_WORKSPACE_CRN": "not-a-crn", "CS_CONFIG_PATH": portProfileWithSession(t)},
	}
	for name, env := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := portDetect(t, env)
			ae := portRequireCode(t, err, CodeInvalidCrn)
			assert.Contains(t, ae.Help, "crn:<region>:<workspace-id>")
		})
	}
}

func TestAutoDetect_InvalidExplicitAccessKeyReturnsInvalidAccessKey(t *testing.T) {
	_, err := portDetect(t, nil, WithAccessKey("CSAKno-secret."), WithWorkspaceCrn(testCRN))
	portRequireCode(t, err, CodeInvalidAccessKey)
}

func TestAutoDetect_ExplicitValuesBeatTheEnvironment(t *testing.T) {
	a, err := portDetect(t, map[string]string{"CS_CLIENT_ACCESS_KEY": "garbage", "CS_WORKSPACE_CRN": "garbage"},
		WithAccessKey(testAccessKey), WithWorkspaceCrn("crn:us-east-1.aws:"+otherWS))
	require.NoError(t, err)
	assert.Equal(t, "crn:us-east-1.aws:"+otherWS, a.Crn.String())
}

func TestAutoDetect_ExplicitProfileDirBeatsCsConfigPath(t *testing.T) {
	a, err := portDetect(t, nil, WithProfileDir(portProfileWithSession(t)))
	require.NoError(t, err)
	assert.Equal(t, SourceDeviceSession, a.Source)
}

func TestAutoDetect_BlankCsConfigPathFallsBackToHome(t *testing.T) {
	home := t.TempDir()
	portWriteProfile(t, filepath.Join(home, ".cipherstash"), testWS,
		portTokenJSON(t, portSessionToken(t, testClock(), testWS, time.Hour)))
	a, err := portDetect(t, map[string]string{"CS_CONFIG_PATH": "  ", "HOME": home})
	require.NoError(t, err)
	assert.Equal(t, SourceDeviceSession, a.Source)
}

func TestAutoDetect_ProfileBuildErrorsPropagate(t *testing.T) {
	noRegion := portSessionToken(t, testClock(), testWS, time.Hour)
	noRegion.Region = ""
	noClient := portSessionToken(t, testClock(), testWS, time.Hour)
	noClient.ClientID = ""
	opaque := portSessionToken(t, testClock(), testWS, time.Hour)
	opaque.AccessToken = NewSecretToken("opaque-not-a-jwt")

	cases := []struct {
		name string
		auth []byte
		code string
	}{
		{"token without region", portTokenJSON(t, noRegion), CodeNotAuthenticated},
		{"token without client id", portTokenJSON(t, noClient), CodeNotAuthenticated},
		{"corrupt auth.json", []byte(`{"access_token": "secret-fragment`), CodeStore},
		{"non-JWT access token", portTokenJSON(t, opaque), CodeInvalidToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			portWriteProfile(t, dir, testWS, tc.auth)
			_, err := portDetect(t, map[string]string{"CS_CONFIG_PATH": dir})
			ae := portRequireCode(t, err, tc.code)
			assert.NotContains(t, ae.Error(), "secret-fragment", "profile errors never quote the file")
		})
	}
}

func TestAutoDetect_AccessKeyPathFetchesAVerifiedToken(t *testing.T) {
	fake := newFakeCTS(t)
	clock := testClock()
	fake.handle("/api/authorise", authoriseOK(t, clock, testWS, 15*time.Minute))
	a, err := DetectAutoStrategy(WithClock(clock), envOf(map[string]string{
		"CS_CLIENT_ACCESS_KEY": testAccessKey, "CS_WORKSPACE_CRN": testCRN, "CS_CTS_HOST": fake.URL,
		"CS_CONFIG_PATH": t.TempDir()}))
	require.NoError(t, err)
	t.Cleanup(a.Close)
	assert.Equal(t, 0, fake.count("/api/authorise"), "detection performs no network I/O")
	tok, err := a.GetToken(portCtx(t))
	require.NoError(t, err)
	portRequireWorkspace(t, tok, testWS)
	assert.Equal(t, 1, fake.count("/api/authorise"))
}

func TestAutoDetect_ProfileWithoutCurrentWorkspaceIsNotAuthenticated(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "workspaces", testWS), 0o700))
	_, err := portDetect(t, map[string]string{"CS_CONFIG_PATH": dir})
	portRequireCode(t, err, CodeNotAuthenticated)
}
