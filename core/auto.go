package stackauth

import (
	"io"

	"github.com/stackauth/stack-auth/core/profile"
)

// CredentialSource says which credential AutoStrategy chose.
type CredentialSource string

const (
	SourceAccessKey     CredentialSource = "access_key"
	SourceDeviceSession CredentialSource = "device_session"
)

// AutoStrategy picks a strategy from the environment (docs/protocol.md 5): an access key
// (WithAccessKey or CS_CLIENT_ACCESS_KEY, with WithWorkspaceCrn or CS_WORKSPACE_CRN) beats
// a device session saved in the profile directory; with neither it is NOT_AUTHENTICATED.
// Detection does no network I/O.
type AutoStrategy struct {
	CachingStrategy
	Source CredentialSource
	// Crn is the workspace, when known.
	Crn *Crn
	// opened is the store detection opened from CS_TOKEN_STORE; Close closes it.
	opened io.Closer
}

// DetectAutoStrategy runs the detection. On the access-key path the token store is
// WithStore, else the one named by CS_TOKEN_STORE (see OpenStore), else none.
func DetectAutoStrategy(opts ...Option) (*AutoStrategy, error) {
	o := buildOptions(opts)

	key, haveKey := o.lookupEnv("CS_CLIENT_ACCESS_KEY")
	if o.accessKey != nil {
		key, haveKey = *o.accessKey, true
	}
	crnText, haveCrn := o.lookupEnv("CS_WORKSPACE_CRN")
	if o.workspaceCrn != nil {
		crnText, haveCrn = *o.workspaceCrn, true
	}
	var crn *Crn
	if haveCrn {
		c, err := ParseCrn(crnText)
		if err != nil {
			return nil, err // even without an access key: a bad CRN is a configuration error
		}
		crn = &c
	}

	if haveKey {
		if crn == nil {
			return nil, newError(CodeMissingWorkspaceCrn, "")
		}
		if _, err := ParseAccessKey(key); err != nil {
			return nil, err
		}
		var opened io.Closer
		if o.store == nil {
			if url := o.getenv("CS_TOKEN_STORE"); url != "" {
				st, err := OpenStore(url, WithLookupEnv(o.lookupEnv))
				if err != nil {
					return nil, err
				}
				o.store = st
				opened, _ = st.(io.Closer)
			}
		}
		s, err := newAccessKeyStrategy(*crn, key, o)
		if err != nil {
			if opened != nil {
				_ = opened.Close()
			}
			return nil, err
		}
		return &AutoStrategy{CachingStrategy: s, Source: SourceAccessKey, Crn: crn, opened: opened}, nil
	}

	root, err := profile.Resolve(o.profileDir, o.getenv)
	if err == nil {
		if ws, err := o.workspaceStore(root); err == nil && ws.Exists(authFile) {
			s, err := sessionFromProfile(root, o)
			if err != nil {
				return nil, err
			}
			a := &AutoStrategy{CachingStrategy: s, Source: SourceDeviceSession}
			if c, ok := s.WorkspaceCrn(); ok {
				a.Crn = &c
			}
			return a, nil
		}
	}
	return nil, newError(CodeNotAuthenticated, "")
}

// Close stops the strategy and closes the store it opened from CS_TOKEN_STORE, if any.
func (a *AutoStrategy) Close() {
	a.CachingStrategy.Close()
	if a.opened != nil {
		_ = a.opened.Close()
	}
}

func (a *AutoStrategy) String() string { return "AutoStrategy(" + string(a.Source) + ")" }
