package stackauth

import (
	"context"
	"errors"
	"net/url"

	"github.com/stackauth/stack-auth/core/profile"
)

// DeviceIdentity identifies this device to CTS and ZeroKMS (device.json).
type DeviceIdentity = profile.DeviceIdentity

const authFile = "auth.json"

// DeviceSessionStrategy renews a session minted by the interactive device-code login with
// its rotating OAuth refresh token. It cannot authenticate on its own.
type DeviceSessionStrategy struct {
	*Engine
	crn    *Crn
	source string
}

// OAuthStrategy is upstream's older name of DeviceSessionStrategy.
type OAuthStrategy = DeviceSessionStrategy

// NewDeviceSessionStrategy renews token in memory only; nothing is persisted. The CTS URL
// is WithBaseURL > CS_CTS_HOST > the region's discovery URL.
func NewDeviceSessionStrategy(region, clientID string, token *Token, opts ...Option) (*DeviceSessionStrategy, error) {
	if token == nil {
		return nil, newError(CodeNotAuthenticated, "")
	}
	o := buildOptions(opts)
	r, base, err := regionCTS(region, o)
	if err != nil {
		return nil, err
	}
	t := token.Clone()
	t.Region, t.ClientID = r.Identifier(), clientID
	s := &DeviceSessionStrategy{source: "token"}
	if ws, err := t.WorkspaceID(); err == nil {
		s.crn = &Crn{Region: r, WorkspaceID: ws}
	} else {
		o.logger.Warn("session token has no workspace claim; workspace CRN unknown")
	}
	ref := &sessionRefresher{cts: o.cts(base), region: t.Region, clientID: clientID, deviceInstanceID: t.DeviceInstanceID}
	s.Engine = newEngine(ref, nil, nil, o)
	s.seed(t)
	return s, nil
}

// DeviceSessionStrategyFromProfile loads the current workspace's auth.json from the profile
// directory (WithProfileDir > CS_CONFIG_PATH > ~/.cipherstash) and writes every refreshed
// token back under a file lock shared with other processes. The CTS URL is WithBaseURL >
// CS_CTS_HOST > the token's iss claim.
func DeviceSessionStrategyFromProfile(opts ...Option) (*DeviceSessionStrategy, error) {
	o := buildOptions(opts)
	root, err := profile.Resolve(o.profileDir, o.getenv)
	if err != nil {
		return nil, storeError(err)
	}
	return sessionFromProfile(root, o)
}

func sessionFromProfile(root *profile.Store, o *options) (*DeviceSessionStrategy, error) {
	ws, err := o.workspaceStore(root)
	if err != nil {
		return nil, storeError(err)
	}
	t, err := loadTokenFile(ws)
	if err != nil {
		return nil, err
	}
	if t.Region == "" || t.ClientID == "" {
		return nil, newError(CodeNotAuthenticated, "")
	}
	s := &DeviceSessionStrategy{source: "profile"}
	if crn, err := t.WorkspaceCrn(); err == nil {
		s.crn = &crn
	} else {
		o.logger.Warn("could not derive the workspace CRN from the profile token", "code", AsAuthError(err).Code)
	}
	base, err := resolveBaseURL(o.baseURL, o.getenv, func() (*url.URL, error) { return t.Issuer() })
	if err != nil {
		return nil, err
	}
	ref := &sessionRefresher{cts: o.cts(base), region: t.Region, clientID: t.ClientID,
		deviceInstanceID: t.DeviceInstanceID, ws: ws}
	s.Engine = newEngine(ref, nil, nil, o)
	s.seed(t)
	return s, nil
}

// WorkspaceCrn is the session's workspace, when it could be derived.
func (s *DeviceSessionStrategy) WorkspaceCrn() (Crn, bool) {
	if s.crn == nil {
		return Crn{}, false
	}
	return *s.crn, true
}

func (s *DeviceSessionStrategy) String() string { return "DeviceSessionStrategy(" + s.source + ")" }

func storeError(err error) *AuthError {
	var ae *AuthError
	if errors.As(err, &ae) {
		return ae
	}
	return wrapError(CodeStore, err, err.Error())
}

// loadTokenFile reads auth.json; its errors never quote the file.
func loadTokenFile(ws *profile.Store) (*Token, error) {
	data, err := ws.LoadBytes(authFile)
	if err != nil {
		return nil, storeError(err)
	}
	defer clear(data)
	t, err := decodeToken(data)
	if err != nil {
		return nil, NewStoreError("JSON error: " + err.Error())
	}
	return t, nil
}

func saveTokenFile(ws *profile.Store, t *Token) error {
	data, err := jsonIndent(t)
	if err != nil {
		return err
	}
	defer clear(data)
	if err := ws.SaveBytes(authFile, data, 0o600); err != nil {
		return storeError(err)
	}
	return nil
}

// sessionRefresher redeems the rotating refresh token (docs/protocol.md 2.7, 7.4).
type sessionRefresher struct {
	cts              *ctsClient
	region           string
	clientID         string
	deviceInstanceID string
	ws               *profile.Store // nil: in memory only
}

func (r *sessionRefresher) canRefresh(cur *Token) bool {
	return cur != nil && !cur.RefreshToken.IsEmpty()
}

func (r *sessionRefresher) refresh(ctx context.Context, cur *Token) (*Token, error) {
	if r.ws == nil {
		return r.exchange(ctx, cur)
	}
	// Another process sharing the profile may be redeeming the same refresh token; the
	// identity provider revokes the whole chain on reuse. So: lock, re-read, and only
	// redeem if nobody rotated it in the meantime.
	unlock, err := r.ws.Lock(ctx, authFile)
	if err != nil {
		return nil, NewServerError("failed to acquire refresh lock: " + err.Error())
	}
	defer unlock()
	if disk, err := loadTokenFile(r.ws); err == nil && !disk.RefreshToken.IsEmpty() &&
		!disk.RefreshToken.Equal(cur.RefreshToken) {
		return disk, nil
	}
	// From here the refresh token may reach the server, which rotates it: the exchange and
	// the save finish even if the strategy is closed meanwhile (docs/architecture.md D1), and Flush
	// waits for them. Registered before the check, so a Close+Flush after it sees this.
	end := beginMustFinish()
	defer end()
	if err := ctx.Err(); err != nil {
		return nil, err // closed (or timed out) before anything was sent
	}
	ctx, cancel := detached(ctx)
	defer cancel()
	t, err := r.exchange(ctx, cur)
	if err != nil {
		return nil, err
	}
	if err := saveTokenFile(r.ws, t); err != nil {
		return nil, consumedError{AsAuthError(err)}
	}
	return t, nil
}

func (r *sessionRefresher) exchange(ctx context.Context, cur *Token) (*Token, error) {
	t, err := r.cts.refresh(ctx, cur.RefreshToken, r.clientID, r.deviceInstanceID)
	if err != nil {
		return nil, err
	}
	// The token endpoint does not echo these; carry them over (CIP-2793).
	t.Region, t.ClientID, t.DeviceInstanceID = r.region, r.clientID, r.deviceInstanceID
	return t, nil
}
