package profile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadOrCreateGeneratesNewIdentity(t *testing.T) {
	root := New(t.TempDir())
	id, err := LoadOrCreateDeviceIdentity(root)
	require.NoError(t, err)

	parsed, err := uuid.Parse(id.DeviceInstanceID)
	require.NoError(t, err)
	assert.Equal(t, uuid.Version(4), parsed.Version())
	assert.NotEqual(t, uuid.Nil, parsed)
	assert.NotEmpty(t, id.DeviceName)
	if host, err := os.Hostname(); err == nil {
		assert.Equal(t, host, id.DeviceName)
	}

	path := filepath.Join(root.Dir(), "device.json")
	assert.Equal(t, os.FileMode(0o600), fileMode(t, path), "device.json lives at the root, owner-only")
}

func TestLoadOrCreateReusesExisting(t *testing.T) {
	root := New(t.TempDir())
	first, err := LoadOrCreateDeviceIdentity(root)
	require.NoError(t, err)
	second, err := LoadOrCreateDeviceIdentity(root)
	require.NoError(t, err)
	assert.Equal(t, first, second)

	loaded, err := LoadDeviceIdentity(root)
	require.NoError(t, err)
	assert.Equal(t, first, loaded)
}

func TestLoadOrCreateKeepsAnIdentityWrittenElsewhere(t *testing.T) {
	root := New(t.TempDir())
	want := DeviceIdentity{DeviceInstanceID: "6f1c1d1e-2a4b-4c8d-9e0f-112233445566", DeviceName: "laptop"}
	require.NoError(t, root.Save("device.json", want))

	got, err := LoadOrCreateDeviceIdentity(root)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

func TestConcurrentLoadOrCreateAgreesOnOneIdentity(t *testing.T) {
	root := New(t.TempDir())
	const callers = 8
	ids := make([]DeviceIdentity, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			id, err := LoadOrCreateDeviceIdentity(root)
			assert.NoError(t, err)
			ids[i] = id
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		assert.Equal(t, ids[0], id)
	}
}

func TestLoadDeviceIdentityReturnsNotFoundForMissingFile(t *testing.T) {
	root := New(t.TempDir())
	_, err := LoadDeviceIdentity(root)
	pe := requireKind(t, err, KindNotFound)
	assert.Equal(t, filepath.Join(root.Dir(), "device.json"), pe.Path)
}

func TestDeviceIdentityRoundTripSerialization(t *testing.T) {
	id := DeviceIdentity{DeviceInstanceID: "6f1c1d1e-2a4b-4c8d-9e0f-112233445566", DeviceName: "test-host"}
	data, err := json.Marshal(id)
	require.NoError(t, err)
	assert.JSONEq(t, `{"device_instance_id":"6f1c1d1e-2a4b-4c8d-9e0f-112233445566","device_name":"test-host"}`, string(data))

	var back DeviceIdentity
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, id, back)
}
