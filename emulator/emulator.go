// This file holds the Server: its configuration, its in-memory state and its lifecycle.

package emulator

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Config configures a Server. The zero value is usable: every field has a default.
type Config struct {
	Addr          string        // listen address; default "127.0.0.1:8787"; port 0 picks a free port
	Region        string        // default "ap-southeast-2.aws"
	TokenTTL      time.Duration // lifetime of minted access tokens; default 15m
	DeviceCodeTTL time.Duration // device code expires_in; default 900s
	// PollInterval is the RFC 8628 interval; polling one device code again sooner answers
	// slow_down. Default 5s; negative turns slow_down off.
	PollInterval time.Duration
	AutoApprove  bool             // device codes are approved as soon as they are issued
	Logger       *slog.Logger     // nil = discard; secret values are never logged
	Now          func() time.Time // injectable clock for token and device-code logic; default time.Now
	// AllowNonLoopback lets Start listen on a non-loopback address. Off by default because
	// the emulator gives valid tokens to anyone who can reach it.
	AllowNonLoopback bool
	// TLS, when set, serves HTTPS with it (see SelfSignedTLS); URL is then https://.
	TLS *tls.Config
	// PublicURL is the URL it advertises (URL, tokens' iss) when clients reach it by
	// another name, e.g. through a proxy; default http(s)://<address>/.
	PublicURL string
}

const (
	defaultAddr          = "127.0.0.1:8787"
	defaultRegion        = "ap-southeast-2.aws"
	defaultTokenTTL      = 15 * time.Minute
	defaultDeviceCodeTTL = 900 * time.Second
	defaultPollInterval  = 5 * time.Second
	// maxBody caps every request body (413 beyond it).
	maxBody = 1 << 20
	// maxLoggedRequests bounds the request log of a long-running `stack-auth serve`.
	maxLoggedRequests = 10000
	// CLIClientID is the only OAuth client the CTS knows.
	CLIClientID = "cli"
	// DeviceCodeGrantType is the RFC 8628 grant type for device token polling.
	DeviceCodeGrantType = "urn:ietf:params:oauth:grant-type:device_code"
)

// Server is the emulator. All methods are safe for concurrent use.
type Server struct {
	log    *slog.Logger
	now    func() time.Time
	region string
	key    *ecdsa.PrivateKey
	keyID  string
	router http.Handler

	closeOnce sync.Once
	done      chan struct{} // closed by Close; delayed faults give up on it

	mu               sync.Mutex
	baseURL          string // "" until Start or SetBaseURL; then requests' Host is used
	allowNonLoopback bool
	tlsConfig        *tls.Config
	publicURL        string
	addr             string
	httpServer       *http.Server
	serveErr         chan error

	tokenTTL      time.Duration
	deviceCodeTTL time.Duration
	pollInterval  time.Duration
	autoApprove   bool

	defaultWorkspace string
	defaultKey       string // the access key AccessKey returns (and Run prints)
	workspaces       map[string]*workspace
	accessKeys       map[string]accessKeyRecord // by key id
	deviceCodes      map[string]*deviceCode     // by sha256(device_code)
	userCodes        map[string]*deviceCode     // by normalised user code
	refreshTokens    map[string]*refreshRecord  // by sha256(refresh_token)
	pageNonces       map[string]time.Time       // device page CSRF nonces -> expiry
	faults           []*faultState
	requests         []Request
	recordHook       func(Request) // tests: learn when a request has finished
}

type workspace struct {
	orgID      string
	datasetID  string // the default keyset, used when create-client has keyset_id null
	usageLimit string // "" or a cs_code every issuance answers 402 with
	clients    map[string]bool
}

type accessKeyRecord struct {
	secretHash [32]byte
	workspace  string
}

// New builds a Server with a fresh signing key and one workspace holding one access key.
func New(cfg Config) (*Server, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("emulator: generating signing key: %w", err)
	}
	s := &Server{
		log:              cfg.Logger,
		now:              cfg.Now,
		region:           cfg.Region,
		key:              key,
		keyID:            randomToken(9),
		done:             make(chan struct{}),
		addr:             cfg.Addr,
		allowNonLoopback: cfg.AllowNonLoopback,
		tlsConfig:        cfg.TLS,
		publicURL:        cfg.PublicURL,
		tokenTTL:         cfg.TokenTTL,
		deviceCodeTTL:    cfg.DeviceCodeTTL,
		pollInterval:     cfg.PollInterval,
		autoApprove:      cfg.AutoApprove,
		workspaces:       map[string]*workspace{},
		accessKeys:       map[string]accessKeyRecord{},
		deviceCodes:      map[string]*deviceCode{},
		userCodes:        map[string]*deviceCode{},
		refreshTokens:    map[string]*refreshRecord{},
		pageNonces:       map[string]time.Time{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.region == "" {
		s.region = defaultRegion
	}
	if s.addr == "" {
		s.addr = defaultAddr
	}
	if s.tokenTTL <= 0 {
		s.tokenTTL = defaultTokenTTL
	}
	if s.deviceCodeTTL <= 0 {
		s.deviceCodeTTL = defaultDeviceCodeTTL
	}
	switch {
	case s.pollInterval == 0:
		s.pollInterval = defaultPollInterval
	case s.pollInterval < 0:
		s.pollInterval = 0
	}
	s.defaultWorkspace = s.NewWorkspace()
	if s.defaultKey, err = s.NewAccessKey(s.defaultWorkspace); err != nil {
		return nil, err
	}
	s.router = s.routes()
	return s, nil
}

// Start listens on the configured address (loopback only, unless AllowNonLoopback) and serves
// in the background until Close.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.httpServer != nil || s.closed() {
		return errors.New("emulator: already started or closed")
	}
	if err := checkLoopback(s.addr, s.allowNonLoopback); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("emulator: listen: %w", err)
	}
	s.addr = ln.Addr().String()
	s.baseURL = "http://" + s.addr + "/"
	if s.tlsConfig != nil {
		ln = tls.NewListener(ln, s.tlsConfig.Clone())
		s.baseURL = "https://" + s.addr + "/"
	}
	if s.publicURL != "" {
		s.baseURL = strings.TrimSuffix(s.publicURL, "/") + "/"
	}
	s.httpServer = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.serveErr = make(chan error, 1)
	go func(srv *http.Server, errc chan<- error) {
		errc <- srv.Serve(ln)
	}(s.httpServer, s.serveErr)
	s.log.Info("emulator listening", "url", s.baseURL)
	return nil
}

func checkLoopback(addr string, allowAny bool) error {
	if allowAny {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("emulator: bad listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("emulator: refusing to listen on non-loopback address %q", addr)
}

// Close stops the listener, abandons delayed faults and waits briefly for requests in flight.
// It is safe to call more than once and on a Server that was never started.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		s.mu.Lock()
		srv, errc := s.httpServer, s.serveErr
		s.mu.Unlock()
		if srv == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err = srv.Shutdown(ctx); err != nil {
			_ = srv.Close() // requests still running after the grace period are cut off
		}
		if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
			err = serr
		}
	})
	return err
}

func (s *Server) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Handler returns the emulator's HTTP handler, e.g. for httptest.NewServer. Without Start,
// call SetBaseURL with the server's URL so that iss and the URLs handed out are right;
// otherwise they are derived from each request's Host.
func (s *Server) Handler() http.Handler { return s }

// SetBaseURL sets the base URL the emulator advertises (JWT iss, verification_uri, ZeroKMS
// URL). Start sets it; use this when serving Handler yourself.
func (s *Server) SetBaseURL(u string) {
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	s.mu.Lock()
	s.baseURL = u
	s.mu.Unlock()
}

// URL is the base URL with a trailing slash, e.g. "http://127.0.0.1:41234/".
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// Addr is the address the server listens on (host:port), even after SetBaseURL.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// ZeroKMSURL is the ZeroKMS base URL handed out in the services claim (trailing slash).
func (s *Server) ZeroKMSURL() string { return s.URL() + "zerokms/" }

// Region is the region identifier of every workspace, e.g. "ap-southeast-2.aws".
func (s *Server) Region() string { return s.region }

// WorkspaceID is the default workspace: 16 characters of the base32 alphabet.
func (s *Server) WorkspaceID() string { return s.defaultWorkspace }

// WorkspaceCRN is "crn:<region>:<default workspace id>".
func (s *Server) WorkspaceCRN() string { return s.crn(s.defaultWorkspace) }

func (s *Server) crn(ws string) string { return "crn:" + s.region + ":" + ws }

// AccessKey returns the access key ("CSAK<keyid>.<secret>") issued for the default workspace
// by New. NewAccessKey issues more.
func (s *Server) AccessKey() string { return s.defaultKey }

// NewWorkspace adds a workspace and returns its id.
func (s *Server) NewWorkspace() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		id := newWorkspaceID()
		if _, taken := s.workspaces[id]; taken {
			continue
		}
		s.workspaces[id] = &workspace{
			orgID:     "org_" + strings.ToLower(newWorkspaceID()),
			datasetID: newUUID(),
			clients:   map[string]bool{},
		}
		return id
	}
}

// NewAccessKey issues an access key ("CSAK<keyid>.<secret>") for a workspace.
func (s *Server) NewAccessKey(workspaceID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.workspaces[workspaceID]; !ok {
		return "", errors.New("emulator: unknown workspace")
	}
	keyID := newWorkspaceID()
	secret := randomToken(32)
	s.accessKeys[keyID] = accessKeyRecord{secretHash: sha256.Sum256([]byte(secret)), workspace: workspaceID}
	return "CSAK" + keyID + "." + secret, nil
}

// SetUsageLimit makes every token issuance for the workspace answer 402 with the given cs_code
// ("USAGE_LIMIT_EXCEEDED" or "ORG_NOT_PROVISIONED"); "" clears it.
func (s *Server) SetUsageLimit(workspaceID, code string) error {
	switch code {
	case "", CodeUsageLimitExceeded, CodeOrgNotProvisioned:
	default:
		return errors.New("emulator: code must be USAGE_LIMIT_EXCEEDED, ORG_NOT_PROVISIONED or empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ws, ok := s.workspaces[workspaceID]
	if !ok {
		return errors.New("emulator: unknown workspace")
	}
	ws.usageLimit = code
	return nil
}

// SetTokenTTL changes the lifetime of tokens minted from now on.
func (s *Server) SetTokenTTL(d time.Duration) { s.setTTL(&s.tokenTTL, d, defaultTokenTTL) }

// SetDeviceCodeTTL changes the lifetime of device codes issued from now on.
func (s *Server) SetDeviceCodeTTL(d time.Duration) {
	s.setTTL(&s.deviceCodeTTL, d, defaultDeviceCodeTTL)
}

// setTTL sets *ttl, a field s.mu guards, to d, or to def when d is not positive.
func (s *Server) setTTL(ttl *time.Duration, d, def time.Duration) {
	if d <= 0 {
		d = def
	}
	s.mu.Lock()
	*ttl = d
	s.mu.Unlock()
}

// SetPollInterval changes the interval of device codes issued from now on; 0 turns slow_down off.
func (s *Server) SetPollInterval(d time.Duration) {
	s.mu.Lock()
	s.pollInterval = max(d, 0)
	s.mu.Unlock()
}

// SetAutoApprove turns automatic approval of new device codes on or off.
func (s *Server) SetAutoApprove(on bool) {
	s.mu.Lock()
	s.autoApprove = on
	s.mu.Unlock()
}

// randomToken returns n random bytes, base64url without padding: an opaque secret.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// newWorkspaceID returns 10 random bytes in base32: 16 characters of A-Z2-7.
func newWorkspaceID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return base32.StdEncoding.EncodeToString(b)
}

func newUUID() string { return uuid.NewString() }

// hashSecret is the map key for device codes and refresh tokens: the tables hold digests, not
// the secrets themselves.
func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return string(h[:])
}
