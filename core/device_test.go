package stackauth

// docs/upstream.md 10.13, upstream device_client.rs: BindClientDevice against a fake ZeroKMS that the
// stored token's services.zerokms claim points at.

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackauth/stack-auth/core/profile"
)

const (
	portClientID   = "8c7c5a1e-54a4-4e0b-9f43-2f1c8e2d9b61"
	portClientKey  = "c2VjcmV0LWNsaWVudC1rZXk="
	portDeviceName = "test-device"
)

type portBind struct {
	fake  *fakeCTS
	dir   string
	wsDir string
	jwt   string
}

// newPortBind lays out a logged-in profile whose token names zerokmsURL (relative to the
// fake) as its ZeroKMS endpoint; "" leaves the services claim out.
func newPortBind(t *testing.T, zerokmsPath string, withClaim bool) *portBind {
	t.Helper()
	b := &portBind{fake: newFakeCTS(t), dir: t.TempDir()}
	exp := testClock().Now().Add(time.Hour).Unix()
	claims := ctsClaims(testWS, exp)
	if withClaim {
		claims["services"] = map[string]any{"zerokms": b.fake.URL + zerokmsPath}
	} else {
		delete(claims, "services")
	}
	b.jwt = makeJWT(t, claims)
	tok := &Token{AccessToken: NewSecretToken(b.jwt), RefreshToken: NewSecretToken("rt"), TokenType: "Bearer",
		ExpiresAt: uint64(exp), Region: testRegion, ClientID: CLIClientID}
	b.wsDir = portWriteProfile(t, b.dir, testWS, portTokenJSON(t, tok))
	portWriteDeviceIdentity(t, b.dir, DeviceIdentity{DeviceInstanceID: "0d6f7a2c-1b3e-4c5d-8e9f-a0b1c2d3e4f5", DeviceName: portDeviceName})
	return b
}

func (b *portBind) bind(t *testing.T) error {
	return BindClientDevice(portCtx(t), WithProfileDir(b.dir), emptyEnv())
}

func (b *portBind) secretKeyPath() string { return filepath.Join(b.wsDir, "secretkey.json") }

func portCreateClientOK(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{"id": portClientID, "dataset_id": "5e2f9a4b-7c1d-4e8f-9a0b-1c2d3e4f5a6b",
		"name": portDeviceName, "description": portDeviceName, "client_key": portClientKey})
}

func TestBindClientDevice_ProvisionsAndSavesSecretKey(t *testing.T) {
	b := newPortBind(t, "/", true)
	b.fake.handle("/create-client", portCreateClientOK)
	require.NoError(t, b.bind(t))

	require.Equal(t, 1, b.fake.count("/create-client"))
	h := b.fake.header("/create-client", 0)
	assert.Equal(t, UserAgent, h.Get("user-agent"))
	assert.Regexp(t, regexp.MustCompile(`^stack-auth/[^ ]+ \([a-z0-9]+ [a-z0-9_]+\)$`), UserAgent)
	assert.Equal(t, "Bearer "+b.jwt, h.Get("authorization"))
	assert.Equal(t, "application/json", h.Get("content-type"))
	body := b.fake.body("/create-client", 0)
	assert.JSONEq(t, `{"keyset_id":null,"name":"test-device","description":"test-device"}`, body)
	assert.Contains(t, body, `"keyset_id":null`, "keyset_id is sent as an explicit null")

	assert.Equal(t, os.FileMode(0o600), portFileMode(t, b.secretKeyPath()))
	data, err := os.ReadFile(b.secretKeyPath())
	require.NoError(t, err)
	assert.JSONEq(t, `{"client_id":"`+portClientID+`","client_key":"`+portClientKey+`"}`, string(data))
}

func TestBindClientDevice_UserAgentUsesRustPlatformNames(t *testing.T) {
	assert.Equal(t, "macos", rustOS("darwin"))
	assert.Equal(t, "linux", rustOS("linux"))
	assert.Equal(t, "windows", rustOS("windows"))
	assert.Equal(t, "x86_64", rustArch("amd64"))
	assert.Equal(t, "aarch64", rustArch("arm64"))
	assert.True(t, strings.HasPrefix(UserAgent, "stack-auth/"+Version+" ("))
}

func TestBindClientDevice_ZeroKMSURLWithPathKeepsItsPath(t *testing.T) {
	b := newPortBind(t, "/zk", true)
	b.fake.handle("/zk/create-client", portCreateClientOK)
	require.NoError(t, b.bind(t))
	assert.Equal(t, 1, b.fake.count("/zk/create-client"))
}

func TestBindClientDevice_UsesTheStoredTokenEvenWhenExpired(t *testing.T) {
	b := newPortBind(t, "/", true)
	// Rewrite auth.json with an expiry long past: binding never refreshes.
	data, err := os.ReadFile(filepath.Join(b.wsDir, "auth.json"))
	require.NoError(t, err)
	tok := portDecodeJSON[Token](t, data)
	tok.ExpiresAt = 1
	require.NoError(t, os.WriteFile(filepath.Join(b.wsDir, "auth.json"), portTokenJSON(t, &tok), 0o600))
	b.fake.handle("/create-client", portCreateClientOK)
	require.NoError(t, b.bind(t))
	assert.Equal(t, "Bearer "+b.jwt, b.fake.header("/create-client", 0).Get("authorization"))
}

func TestBindClientDevice_SkipsWhenSecretKeyExists(t *testing.T) {
	b := newPortBind(t, "/", true)
	b.fake.handle("/create-client", portCreateClientOK)
	require.NoError(t, os.WriteFile(b.secretKeyPath(), []byte(`{"client_id":"existing","client_key":"a2V5"}`), 0o600))
	require.NoError(t, b.bind(t))
	assert.Equal(t, 0, b.fake.count("/create-client"), "no network when the key exists")
	data, err := os.ReadFile(b.secretKeyPath())
	require.NoError(t, err)
	assert.Contains(t, string(data), "existing")
}

func TestBindClientDevice_NoOpOnConflict(t *testing.T) {
	b := newPortBind(t, "/", true)
	b.fake.handle("/create-client", func(w http.ResponseWriter, r *http.Request) { writeText(w, 409, "already exists") })
	require.NoError(t, b.bind(t))
	assert.Equal(t, 1, b.fake.count("/create-client"))
	_, err := os.Stat(b.secretKeyPath())
	assert.True(t, os.IsNotExist(err), "nothing is written on 409")
}

func TestBindClientDevice_ServerErrorCarriesTheStatusAndNotTheBody(t *testing.T) {
	const body = "internal detail: db password hunter2"
	b := newPortBind(t, "/", true)
	b.fake.handle("/create-client", func(w http.ResponseWriter, r *http.Request) { writeText(w, 500, body) })
	err := b.bind(t)
	require.Error(t, err)

	var dce *DeviceClientError
	require.True(t, errors.As(err, &dce), "got %T", err)
	assert.Equal(t, "server", dce.Kind)
	assert.Equal(t, 500, dce.Status)
	assert.Equal(t, "ZeroKMS returned 500", dce.Error())
	assert.NotContains(t, dce.Error(), "hunter2")

	ae := dce.AuthError()
	assert.Equal(t, CodeServer, ae.Code)
	assert.Equal(t, map[string]any{"status": 500}, ae.Payload)
	data, jerr := json.Marshal(ae)
	require.NoError(t, jerr)
	assert.NotContains(t, string(data), "hunter2")
	assert.NotContains(t, string(data), "internal detail")
	assert.Contains(t, string(data), `"status":500`)
	assert.Equal(t, CodeServer, AsAuthError(err).Code)

	_, statErr := os.Stat(b.secretKeyPath())
	assert.True(t, os.IsNotExist(statErr))
}

func TestBindClientDevice_ExpiredTokenYieldsServerErrorWithStatus401(t *testing.T) {
	b := newPortBind(t, "/", true)
	b.fake.handle("/create-client", func(w http.ResponseWriter, r *http.Request) { writeText(w, 401, "expired") })
	var dce *DeviceClientError
	require.ErrorAs(t, b.bind(t), &dce)
	assert.Equal(t, 401, dce.Status)
}

func TestBindClientDevice_CreatesADeviceIdentityWhenMissing(t *testing.T) {
	b := newPortBind(t, "/", true)
	require.NoError(t, os.Remove(filepath.Join(b.dir, profile.DeviceFile)))
	b.fake.handle("/create-client", portCreateClientOK)
	require.NoError(t, b.bind(t))

	id, err := profile.LoadDeviceIdentity(profile.New(b.dir))
	require.NoError(t, err)
	assert.NotEmpty(t, id.DeviceInstanceID)
	assert.Equal(t, os.FileMode(0o600), portFileMode(t, filepath.Join(b.dir, profile.DeviceFile)))
	var sent map[string]any
	require.NoError(t, json.Unmarshal([]byte(b.fake.body("/create-client", 0)), &sent))
	assert.Equal(t, id.DeviceName, sent["name"])
	assert.Equal(t, id.DeviceName, sent["description"])
}

func TestBindClientDevice_MissingZeroKMSClaimIsAnAuthError(t *testing.T) {
	b := newPortBind(t, "", false)
	err := b.bind(t)
	var dce *DeviceClientError
	require.ErrorAs(t, err, &dce)
	assert.Equal(t, "auth", dce.Kind)
	assert.Equal(t, CodeInvalidToken, dce.AuthError().Code)
	assert.Contains(t, dce.Error(), "services claim")
}

func TestBindClientDevice_ProfileErrorsMapToStoreErrors(t *testing.T) {
	t.Run("no current workspace", func(t *testing.T) {
		err := BindClientDevice(portCtx(t), WithProfileDir(t.TempDir()), emptyEnv())
		var dce *DeviceClientError
		require.ErrorAs(t, err, &dce)
		assert.Equal(t, "profile", dce.Kind)
		assert.Equal(t, CodeStore, dce.AuthError().Code)
	})
	t.Run("no auth.json", func(t *testing.T) {
		dir := t.TempDir()
		portWriteProfile(t, dir, testWS, nil)
		err := BindClientDevice(portCtx(t), WithProfileDir(dir), emptyEnv())
		var dce *DeviceClientError
		require.ErrorAs(t, err, &dce)
		assert.Equal(t, "profile", dce.Kind)
		ae := dce.AuthError()
		assert.Equal(t, CodeStore, ae.Code)
		assert.Equal(t, 1, strings.Count(ae.Error(), "Token store error:"), "message %q repeats its prefix", ae.Error())
		assert.True(t, strings.HasPrefix(dce.Error(), "Profile error: Profile not found: "), "got %q", dce.Error())
	})
}

func TestBindClientDevice_UnreachableZeroKMSIsARequestError(t *testing.T) {
	b := newPortBind(t, "/", true)
	b.fake.Close()
	err := b.bind(t)
	var dce *DeviceClientError
	require.ErrorAs(t, err, &dce)
	assert.Equal(t, "request", dce.Kind)
	ae := dce.AuthError()
	assert.Equal(t, CodeRequest, ae.Code)
	assert.True(t, ae.Retryable())
	assert.Equal(t, 1, strings.Count(ae.Error(), "Request to the auth server failed:"), "message %q repeats its prefix", ae.Error())
}

func TestBindClientDevice_UndecodableSuccessBodyIsARequestError(t *testing.T) {
	b := newPortBind(t, "/", true)
	b.fake.handle("/create-client", func(w http.ResponseWriter, r *http.Request) { writeText(w, 200, "<html>ok</html>") })
	var dce *DeviceClientError
	require.ErrorAs(t, b.bind(t), &dce)
	assert.Equal(t, "request", dce.Kind)
	_, err := os.Stat(b.secretKeyPath())
	assert.True(t, os.IsNotExist(err))
}

func TestBindClientDevice_InvalidZeroKMSURLIsInvalidURL(t *testing.T) {
	b := newPortBind(t, "", false)
	exp := testClock().Now().Add(time.Hour).Unix()
	claims := ctsClaims(testWS, exp)
	claims["services"] = map[string]any{"zerokms": "not a url"}
	tok := &Token{AccessToken: NewSecretToken(makeJWT(t, claims)), TokenType: "Bearer", ExpiresAt: uint64(exp),
		Region: testRegion, ClientID: CLIClientID}
	require.NoError(t, os.WriteFile(filepath.Join(b.wsDir, "auth.json"), portTokenJSON(t, tok), 0o600))

	var dce *DeviceClientError
	require.ErrorAs(t, b.bind(t), &dce)
	assert.Equal(t, "invalid_url", dce.Kind)
	assert.True(t, strings.HasPrefix(dce.Error(), "Invalid ZeroKMS URL: "), "got %q", dce.Error())
	ae := dce.AuthError()
	assert.Equal(t, CodeInvalidURL, ae.Code)
	assert.Equal(t, 1, strings.Count(ae.Error(), "Invalid URL:"), "message %q repeats its prefix", ae.Error())
}
