package stackauth

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/stackauth/stack-auth/core/internal/cts"
	"github.com/stackauth/stack-auth/core/profile"
)

// Option configures a strategy. One option type serves every strategy; an option that
// does not apply to a strategy is ignored by it (documented on each option).
type Option func(*options)

type options struct {
	baseURL        string
	store          TokenStore
	audience       string
	httpClient     *http.Client
	clock          Clock
	rand           func() float64
	events         func(Event)
	logger         *slog.Logger
	lookupEnv      func(string) (string, bool)
	accessKey      *string
	workspaceCrn   *string
	sleep          func(context.Context, time.Duration) error
	profileDir     string
	profileWs      string
	leeway         uint64
	refreshTimeout time.Duration
	cacheCapacity  int
	deviceIdentity *DeviceIdentity
	// profileDevice: without deviceIdentity, identify the device by the profile's device.json
	profileDevice bool
}

func buildOptions(opts []Option) *options {
	o := &options{
		clock:          SystemClock{},
		rand:           defaultRand,
		logger:         discardLogger,
		lookupEnv:      os.LookupEnv,
		sleep:          sleepContext,
		leeway:         ExpiryLeewaySecs,
		refreshTimeout: defaultRefreshTimeout,
		cacheCapacity:  DefaultOidcCacheCapacity,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	return o
}

func (o *options) cts(base *url.URL) *ctsClient {
	client := o.httpClient
	if client == nil {
		client = cts.HTTPClient(o.getenv, o.logger)
	}
	return &ctsClient{base: base, http: client, clock: o.clock, log: o.logger}
}

// WithBaseURL overrides the CTS URL; it beats CS_CTS_HOST and discovery. Empty is ignored.
func WithBaseURL(u string) Option { return func(o *options) { o.baseURL = u } }

// WithStore persists tokens (access-key and OIDC strategies; AutoStrategy's access-key path).
func WithStore(s TokenStore) Option { return func(o *options) { o.store = s } }

// WithAudience sets the audience of access-key tokens.
func WithAudience(a string) Option { return func(o *options) { o.audience = a } }

// WithHTTPClient replaces the bundled HTTP client (10 s connect, 30 s per request, proxy
// and TLS settings from HTTPS_PROXY, HTTP_PROXY, NO_PROXY, SSL_CERT_FILE and SSL_CERT_DIR,
// read through WithLookupEnv when the strategy is built).
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) {
		if c != nil {
			o.httpClient = c
		}
	}
}

// WithClock injects the clock (tests).
func WithClock(c Clock) Option {
	return func(o *options) {
		if c != nil {
			o.clock = c
		}
	}
}

// WithRand injects the random source of backoff jitter; f returns values in [0, 1).
func WithRand(f func() float64) Option {
	return func(o *options) {
		if f != nil {
			o.rand = f
		}
	}
}

// WithEvents registers a hook that observes refreshes. It runs on the engine's goroutine,
// never under a lock, and must not block for long.
func WithEvents(f func(Event)) Option { return func(o *options) { o.events = f } }

// WithLogger sends diagnostics to l. Nothing logged ever contains a secret.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithLookupEnv replaces os.LookupEnv for CS_*, proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)
// and TLS (SSL_CERT_FILE, SSL_CERT_DIR) variables; the C library reads the host's live
// environment through it (Go's copy of the environment is taken once at load).
func WithLookupEnv(f func(string) (string, bool)) Option {
	return func(o *options) {
		if f != nil {
			o.lookupEnv = f
		}
	}
}

// getenv is the value of an environment variable, "" when unset.
func (o *options) getenv(name string) string {
	v, _ := o.lookupEnv(name)
	return v
}

// WithAccessKey gives AutoStrategy an access key (beats CS_CLIENT_ACCESS_KEY).
func WithAccessKey(key string) Option { return func(o *options) { o.accessKey = &key } }

// WithWorkspaceCrn gives AutoStrategy a workspace CRN (beats CS_WORKSPACE_CRN).
func WithWorkspaceCrn(crn string) Option { return func(o *options) { o.workspaceCrn = &crn } }

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WithProfileDir overrides the profile directory (CS_CONFIG_PATH, ~/.cipherstash).
func WithProfileDir(dir string) Option { return func(o *options) { o.profileDir = dir } }

// WithProfileWorkspace reads the device session of this workspace id in the profile
// instead of the current workspace's (the CLI's --workspace). Empty is ignored.
func WithProfileWorkspace(id string) Option { return func(o *options) { o.profileWs = id } }

// workspaceStore is the profile workspace a device session is read from.
func (o *options) workspaceStore(root *profile.Store) (*profile.Store, error) {
	if o.profileWs != "" {
		return root.WorkspaceStore(o.profileWs)
	}
	return root.CurrentWorkspaceStore()
}

// WithLeeway sets the refresh window in seconds (default 90); the engine never uses more
// than half a token's lifetime.
func WithLeeway(secs uint64) Option { return func(o *options) { o.leeway = secs } }

// WithRefreshTimeout bounds one refresh, store and lock waits included (default 60 s).
func WithRefreshTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.refreshTimeout = d
		}
	}
}

// WithOidcCacheCapacity sets how many provider JWTs keep an engine (default 1024; 0
// caches nothing).
func WithOidcCacheCapacity(n int) Option {
	return func(o *options) {
		if n >= 0 {
			o.cacheCapacity = n
		}
	}
}

// WithDeviceIdentity sends this device's identity in the device code flow.
func WithDeviceIdentity(id DeviceIdentity) Option {
	return func(o *options) { o.deviceIdentity = &id }
}

// WithProfileDeviceIdentity identifies this device in the device code flow as the CLI does:
// by device.json in the profile directory, created on first use. An explicit
// WithDeviceIdentity wins; a profile that cannot be read or written leaves the flow
// anonymous (the identity is optional upstream). The C ABI sets it for every language.
func WithProfileDeviceIdentity() Option { return func(o *options) { o.profileDevice = true } }

// withSleep replaces the device-code poll's sleep (tests advance a ManualClock instead).
func withSleep(f func(context.Context, time.Duration) error) Option {
	return func(o *options) { o.sleep = f }
}
