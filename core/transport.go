package stackauth

// The HTTP client of every strategy. Proxy and TLS settings are read through the
// strategy's environment lookup when it is built (DESIGN 8.6, pitfall P27): in the C
// library that is the host's live environment (C getenv), which Go's own copy, read by
// http.ProxyFromEnvironment and the system roots, does not see.

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/net/http/httpproxy"
)

// transportEnv is every environment setting the transport depends on.
type transportEnv struct {
	httpProxy, httpsProxy, noProxy string // upper case beats lower case, as curl and Go do
	certFile, certDir              string // extra trusted roots, added to the system's
}

func readTransportEnv(getenv func(string) string) transportEnv {
	first := func(names ...string) string {
		for _, n := range names {
			if v := getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	return transportEnv{
		httpProxy:  first("HTTP_PROXY", "http_proxy"),
		httpsProxy: first("HTTPS_PROXY", "https_proxy"),
		noProxy:    first("NO_PROXY", "no_proxy"),
		certFile:   getenv("SSL_CERT_FILE"),
		certDir:    getenv("SSL_CERT_DIR"),
	}
}

// Strategies with the same settings share one client, so they share its connections.
var httpClients = struct {
	sync.Mutex
	m map[transportEnv]*http.Client
}{m: map[transportEnv]*http.Client{}}

const maxHTTPClients = 16 // distinct settings kept; a strategy keeps its own client anyway

func httpClientFor(env transportEnv, log *slog.Logger) *http.Client {
	httpClients.Lock()
	defer httpClients.Unlock()
	if c := httpClients.m[env]; c != nil {
		return c
	}
	if len(httpClients.m) >= maxHTTPClients {
		clear(httpClients.m)
	}
	c := newHTTPClient(env, log)
	httpClients.m[env] = c
	return c
}

// newHTTPClient has upstream's limits: 10 s to connect, 30 s per request, idle connections
// kept 5 s, at most 10 per host.
func newHTTPClient(env transportEnv, log *slog.Logger) *http.Client {
	proxy := (&httpproxy.Config{HTTPProxy: env.httpProxy, HTTPSProxy: env.httpsProxy, NoProxy: env.noProxy}).ProxyFunc()
	t := &http.Transport{
		Proxy:               func(r *http.Request) (*url.URL, error) { return proxy(r.URL) },
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     5 * time.Second,
		MaxIdleConnsPerHost: 10,
		ForceAttemptHTTP2:   true,
	}
	if env.certFile != "" || env.certDir != "" {
		t.TLSClientConfig = &tls.Config{RootCAs: rootsWith(env, log), MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: t}
}

// rootsWith is the system's roots plus the PEM certificates of SSL_CERT_FILE and of the
// files in each SSL_CERT_DIR directory (colon-separated). One that cannot be read is
// skipped with a warning, as OpenSSL skips it: the handshake then reports the server as
// untrusted.
func rootsWith(env transportEnv, log *slog.Logger) *x509.CertPool {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	add := func(variable, path string) {
		data, err := os.ReadFile(path)
		if err != nil || !pool.AppendCertsFromPEM(data) {
			log.Warn("no certificate read", "variable", variable, "path", path)
		}
	}
	if env.certFile != "" {
		add("SSL_CERT_FILE", env.certFile)
	}
	for _, dir := range filepath.SplitList(env.certDir) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			log.Warn("certificate directory unreadable", "variable", "SSL_CERT_DIR", "path", dir)
			continue
		}
		for _, e := range entries {
			if !e.IsDir() {
				add("SSL_CERT_DIR", filepath.Join(dir, e.Name()))
			}
		}
	}
	return pool
}
