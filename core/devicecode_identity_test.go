package stackauth

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackauth/stack-auth/core/profile"
)

// The default every language's device flow gets (the C ABI sets it): the profile's
// device.json, created on first use and the same on the next login.
func TestDeviceCode_ProfileDeviceIdentityIsCreatedOnceAndSent(t *testing.T) {
	f := newPortDeviceFlow(t, WithProfileDeviceIdentity())
	f.begin(t)
	saved, err := profile.LoadOrCreateDeviceIdentity(profile.New(f.profileDir))
	require.NoError(t, err)
	require.NotEmpty(t, saved.DeviceInstanceID)
	form, err := url.ParseQuery(f.fake.body("/oauth/device/code", 0))
	require.NoError(t, err)
	assert.Equal(t, saved.DeviceInstanceID, form.Get("device_instance_id"))
	assert.Equal(t, saved.DeviceName, form.Get("device_name"))

	again := newPortDeviceFlow(t, WithProfileDir(f.profileDir), WithProfileDeviceIdentity())
	again.begin(t)
	form, err = url.ParseQuery(again.fake.body("/oauth/device/code", 0))
	require.NoError(t, err)
	assert.Equal(t, saved.DeviceInstanceID, form.Get("device_instance_id"))
}

func TestDeviceCode_AnExplicitDeviceIdentityWinsOverTheProfiles(t *testing.T) {
	f := newPortDeviceFlow(t, WithProfileDeviceIdentity(), WithDeviceIdentity(DeviceIdentity{DeviceInstanceID: "explicit-id", DeviceName: "mine"}))
	f.begin(t)
	assert.Equal(t, "client_id=cli&device_instance_id=explicit-id&device_name=mine", f.fake.body("/oauth/device/code", 0))
}

func TestPendingDeviceCodeJSONShowsWhatToApproveAndNeverTheDeviceCode(t *testing.T) {
	p := &PendingDeviceCode{UserCode: "ABCD-EFGH", VerificationURI: "https://cts.example.com/device",
		VerificationURIComplete: "https://cts.example.com/device?code=ABCD-EFGH", ExpiresIn: 900,
		deviceCode: NewSecretToken("sekrit-device-code")}
	data, err := json.Marshal(p)
	require.NoError(t, err)
	assert.JSONEq(t, `{"userCode":"ABCD-EFGH","verificationUri":"https://cts.example.com/device",
		"verificationUriComplete":"https://cts.example.com/device?code=ABCD-EFGH","expiresIn":900}`, string(data))
	assert.NotContains(t, string(data), "sekrit")
}
