package profile

import (
	"context"
	"os"

	"github.com/google/uuid"
)

// DeviceFile is where the device identity lives: at the profile root, shared
// by every workspace, because it names the machine, not a login.
const DeviceFile = "device.json"

// DeviceIdentity names this installation to CipherStash: the instance id is
// sent in the device-code request and stamped into tokens; the name becomes
// the ZeroKMS client's name.
type DeviceIdentity struct {
	DeviceInstanceID string `json:"device_instance_id"` // UUID v4
	DeviceName       string `json:"device_name"`        // hostname
}

// LoadDeviceIdentity reads device.json from root; KindNotFound if absent.
func LoadDeviceIdentity(root *Store) (DeviceIdentity, error) {
	var id DeviceIdentity
	if err := root.Load(DeviceFile, &id); err != nil {
		return DeviceIdentity{}, err
	}
	return id, nil
}

// LoadOrCreateDeviceIdentity returns the saved identity, or creates one (a
// new UUID v4 and the hostname), saves it 0600 and returns it. Creation
// happens under the device.json lock so that two processes starting at once
// agree on one id instead of the last writer silently replacing the other's.
func LoadOrCreateDeviceIdentity(root *Store) (DeviceIdentity, error) {
	id, err := LoadDeviceIdentity(root)
	if err == nil || !IsNotFound(err) {
		return id, err
	}

	// Held only for a load and a small write, so waiting without a deadline
	// cannot hang unless another process wedges while holding it.
	unlock, err := root.Lock(context.Background(), DeviceFile)
	if err != nil {
		return DeviceIdentity{}, err
	}
	defer unlock()

	id, err = LoadDeviceIdentity(root)
	if err == nil || !IsNotFound(err) {
		return id, err
	}
	id = DeviceIdentity{
		DeviceInstanceID: uuid.NewString(), // google/uuid.New is version 4
		DeviceName:       hostname(),
	}
	if err := root.Save(DeviceFile, id); err != nil {
		return DeviceIdentity{}, err
	}
	return id, nil
}

// hostname never fails: the name is only a label shown to people, so a
// missing hostname must not stop a login.
func hostname() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "unknown"
}
