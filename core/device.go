package stackauth

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/stackauth/stack-auth/core/internal/cts"
	"github.com/stackauth/stack-auth/core/profile"
)

const secretKeyFile = "secretkey.json"

// BindClientDevice registers this device as a ZeroKMS client of the current workspace
// and saves its client key as secretkey.json (docs/protocol.md 7.3). It does nothing when the key
// already exists, and treats 409 (already registered) as success. The profile directory
// is WithProfileDir > CS_CONFIG_PATH > ~/.cipherstash. Errors are *DeviceClientError.
func BindClientDevice(ctx context.Context, opts ...Option) error {
	o := buildOptions(opts)
	root, err := profile.Resolve(o.profileDir, o.getenv)
	if err != nil {
		return &DeviceClientError{Kind: "profile", err: err}
	}
	ws, err := o.workspaceStore(root)
	if err != nil {
		return &DeviceClientError{Kind: "profile", err: err}
	}
	if ws.Exists(secretKeyFile) {
		return nil
	}
	t, err := loadTokenFile(ws)
	if err != nil {
		return &DeviceClientError{Kind: "profile", err: err}
	}
	// The stored token is used as it is: binding happens right after login.
	svc := serviceTokenFrom(t)
	zkms, err := svc.ZeroKMSURL()
	if err != nil {
		if AsAuthError(err).Code == CodeInvalidURL {
			return &DeviceClientError{Kind: "invalid_url", err: err}
		}
		return &DeviceClientError{Kind: "auth", err: err}
	}
	id, err := profile.LoadOrCreateDeviceIdentity(root)
	if err != nil {
		return &DeviceClientError{Kind: "profile", err: err}
	}
	body, err := json.Marshal(map[string]any{"keyset_id": nil, "name": id.DeviceName, "description": id.DeviceName})
	if err != nil {
		return &DeviceClientError{Kind: "request", err: err}
	}
	c := o.cts(zkms)
	header := http.Header{"Authorization": {"Bearer " + t.AccessToken.Reveal()}}
	r, err := c.post(ctx, cts.JoinRelative(zkms, "create-client"), "application/json", body, header)
	if err != nil {
		return &DeviceClientError{Kind: "request", err: err}
	}
	if r.status == http.StatusConflict {
		return nil
	}
	if !r.ok() {
		return &DeviceClientError{Kind: "server", Status: r.status}
	}
	var resp struct {
		ID        string      `json:"id"`
		ClientKey SecretToken `json:"client_key"`
	}
	if err := json.Unmarshal(r.body, &resp); err != nil || resp.ID == "" || resp.ClientKey.IsEmpty() {
		return &DeviceClientError{Kind: "request", err: NewRequestError("error decoding ZeroKMS response")}
	}
	defer resp.ClientKey.Zero()
	data, err := jsonIndent(map[string]any{"client_id": resp.ID, "client_key": resp.ClientKey})
	if err != nil {
		return &DeviceClientError{Kind: "request", err: err}
	}
	defer clear(data)
	if err := ws.SaveBytes(secretKeyFile, data, 0o600); err != nil {
		return &DeviceClientError{Kind: "profile", err: err}
	}
	return nil
}
