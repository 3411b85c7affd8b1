package stackauth

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/stackauth/stack-auth/core/internal/cts"
	"github.com/stackauth/stack-auth/core/profile"
)

// CLIClientID is the only OAuth client registered with CTS.
const CLIClientID = "cli"

// DeviceCodeStrategy runs the interactive device-code login (RFC 8628) and saves the
// resulting session to the profile directory.
type DeviceCodeStrategy struct {
	cts      *ctsClient
	region   Region
	clientID string
	o        *options
}

// NewDeviceCodeStrategy builds the strategy; the CTS URL is WithBaseURL > CS_CTS_HOST >
// the region's discovery URL.
func NewDeviceCodeStrategy(region, clientID string, opts ...Option) (*DeviceCodeStrategy, error) {
	o := buildOptions(opts)
	r, base, err := regionCTS(region, o)
	if err != nil {
		return nil, err
	}
	if o.deviceIdentity == nil && o.profileDevice {
		if root, err := profile.Resolve(o.profileDir, o.getenv); err == nil {
			if id, err := profile.LoadOrCreateDeviceIdentity(root); err == nil {
				o.deviceIdentity = &id
			}
		}
	}
	return &DeviceCodeStrategy{cts: o.cts(base), region: r, clientID: clientID, o: o}, nil
}

type deviceCodeResponse struct {
	DeviceCode              SecretToken `json:"device_code"`
	UserCode                string      `json:"user_code"`
	VerificationURI         string      `json:"verification_uri"`
	VerificationURIComplete string      `json:"verification_uri_complete"`
	ExpiresIn               uint64      `json:"expires_in"`
}

// Begin requests a device code. The server's `interval` is not read: polling starts at 5 s.
func (s *DeviceCodeStrategy) Begin(ctx context.Context) (*PendingDeviceCode, error) {
	f := cts.Form{{"client_id", s.clientID}}
	if id := s.o.deviceIdentity; id != nil {
		f = append(f, [2]string{"device_instance_id", id.DeviceInstanceID}, [2]string{"device_name", id.DeviceName})
	}
	r, err := s.cts.postForm(ctx, "oauth/device/code", f)
	if err != nil {
		return nil, err
	}
	if !r.ok() {
		e, ok := parseOAuthError(r.body)
		if !ok {
			return nil, NewRequestError("error decoding response body: not an OAuth error")
		}
		if *e.Error == "invalid_client" {
			return nil, newError(CodeInvalidClient, "")
		}
		return nil, NewServerError(serverText([]byte(e.Description)))
	}
	var resp deviceCodeResponse
	if err := decodeSuccess(r, &resp); err != nil {
		return nil, err
	}
	if resp.DeviceCode.IsEmpty() || resp.UserCode == "" || resp.VerificationURI == "" {
		return nil, NewRequestError("error decoding response body: missing device_code, user_code or verification_uri")
	}
	return &PendingDeviceCode{
		UserCode:                resp.UserCode,
		VerificationURI:         resp.VerificationURI,
		VerificationURIComplete: resp.VerificationURIComplete,
		ExpiresIn:               resp.ExpiresIn,
		deviceCode:              resp.DeviceCode,
		s:                       s,
	}, nil
}

// PendingDeviceCode is a device code waiting for the user to approve it.
type PendingDeviceCode struct {
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	ExpiresIn               uint64 // seconds, as the server said

	deviceCode SecretToken
	s          *DeviceCodeStrategy
	consumed   atomic.Bool
}

func (p *PendingDeviceCode) String() string {
	return fmt.Sprintf("PendingDeviceCode{user_code: %s, verification_uri: %s, expires_in: %d, device_code: ***}",
		p.UserCode, p.VerificationURI, p.ExpiresIn)
}
func (p *PendingDeviceCode) GoString() string { return p.String() }

// MarshalJSON is what every language shows its user to approve the login (sa_device_flow_json):
// the codes to type and the page to visit, never the device code itself.
func (p *PendingDeviceCode) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		UserCode                string `json:"userCode"`
		VerificationURI         string `json:"verificationUri"`
		VerificationURIComplete string `json:"verificationUriComplete"`
		ExpiresIn               uint64 `json:"expiresIn"`
	}{p.UserCode, p.VerificationURI, p.VerificationURIComplete, p.ExpiresIn})
}

// OpenInBrowser opens VerificationURIComplete with the OS launcher; true when it opened.
// The launcher (xdg-open, open) exits non-zero when it found no browser, so its status is
// awaited; one still running after browserLaunchWait is taken to be showing the page.
func (p *PendingDeviceCode) OpenInBrowser() bool {
	target := p.VerificationURIComplete
	if target == "" {
		target = p.VerificationURI
	}
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", target)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", target)
	default:
		cmd = exec.Command("xdg-open", target)
	}
	if err := cmd.Start(); err != nil {
		return false
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }() // also reaps a launcher still running below
	timer := time.NewTimer(browserLaunchWait)
	defer timer.Stop()
	select {
	case err := <-done:
		return err == nil
	case <-timer.C:
		return true
	}
}

const browserLaunchWait = 5 * time.Second

// PollForToken polls until the user approves, denies or the code expires, then saves the
// session to the profile directory; a failure to save fails the call. It consumes the
// code: a second call fails with ALREADY_CONSUMED.
func (p *PendingDeviceCode) PollForToken(ctx context.Context) (*Token, error) {
	if !p.consumed.CompareAndSwap(false, true) {
		return nil, newError(CodeAlreadyConsumed, "")
	}
	defer p.deviceCode.Zero()
	s := p.s
	clock := s.o.clock
	interval := 5 * time.Second
	deadline := clock.Now().Add(durationSecs(p.ExpiresIn))
	for {
		if !clock.Now().Before(deadline) {
			return nil, newError(CodeExpiredToken, "")
		}
		r, err := s.cts.postForm(ctx, "oauth/device/token", cts.Form{
			{"client_id", s.clientID}, {"device_code", p.deviceCode.Reveal()},
			{"grant_type", "urn:ietf:params:oauth:grant-type:device_code"},
		})
		if err != nil {
			return nil, err
		}
		if r.ok() {
			var resp oauthTokenResponse
			if err := decodeSuccess(r, &resp); err != nil {
				return nil, err
			}
			t, err := resp.token(uint64(clock.Now().Unix()))
			if err != nil {
				return nil, err
			}
			t.Region, t.ClientID = s.region.Identifier(), s.clientID
			if id := s.o.deviceIdentity; id != nil {
				t.DeviceInstanceID = id.DeviceInstanceID
			}
			if err := s.persist(t); err != nil {
				return nil, err
			}
			return t, nil
		}
		if ae := classifyIssuanceFailure(r.status, r.body, p.deviceCode); ae != nil {
			return nil, ae
		}
		e, ok := parseOAuthError(r.body)
		if !ok {
			return nil, unparseableFailure(r, p.deviceCode)
		}
		switch *e.Error {
		case "authorization_pending":
		case "slow_down":
			interval += 5 * time.Second
		case "expired_token":
			return nil, newError(CodeExpiredToken, "")
		default:
			return nil, mapOAuthError(e, p.deviceCode)
		}
		if err := s.o.sleep(ctx, interval); err != nil {
			return nil, wrapError(CodeRequest, err, "device code polling cancelled: "+err.Error())
		}
	}
}

// persist writes the session as the current workspace's auth.json.
func (s *DeviceCodeStrategy) persist(t *Token) error {
	ws, err := t.WorkspaceID()
	if err != nil {
		return err
	}
	root, err := profile.Resolve(s.o.profileDir, s.o.getenv)
	if err != nil {
		return storeError(err)
	}
	wsStore, err := root.InitWorkspace(ws)
	if err != nil {
		return storeError(err)
	}
	return saveTokenFile(wsStore, t)
}
