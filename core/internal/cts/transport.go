package cts

// The HTTP client of every strategy. Proxy and TLS settings are read through the
// strategy's environment lookup when it is built (docs/architecture.md D6, docs/c-abi.md P27): in the C
// library that is the host's live environment (C getenv), which Go's own copy, read by
// http.ProxyFromEnvironment and the system roots, does not see.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
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

// HTTPClient is the client for the settings getenv reads now (proxies, extra CA roots);
// strategies with the same settings share one client, so they share its connections.
func HTTPClient(getenv func(string) string, log *slog.Logger) *http.Client {
	return httpClientFor(readTransportEnv(getenv), log)
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
	t := &http.Transport{
		Proxy:               func(r *http.Request) (*url.URL, error) { return env.proxyFor(r.URL) },
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

// proxyFor is the proxy for a request to u, with the rules of Go's http.ProxyFromEnvironment
// (golang.org/x/net/http/httpproxy), written out here because that module and the Unicode
// tables it brings cost the library about 0.2 MB: the scheme picks HTTPS_PROXY or
// HTTP_PROXY; localhost and loopback addresses are never proxied; NO_PROXY is "*" or a list
// of hosts, domains (".example.com" or "example.com" also match subdomains), IP addresses and
// CIDR ranges, each with an optional port.
func (env transportEnv) proxyFor(u *url.URL) (*url.URL, error) {
	var raw string
	switch u.Scheme {
	case "https":
		raw = env.httpsProxy
	case "http":
		raw = env.httpProxy
	}
	host := strings.ToLower(u.Hostname())
	if raw == "" || host == "localhost" || !env.useProxy(host, u.Port()) {
		return nil, nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil, nil
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw // "proxy:3128", as curl reads it
	}
	proxy, err := url.Parse(raw)
	if err != nil || proxy.Host == "" {
		// Never the value: a proxy URL may carry a password.
		return nil, errProxyNotURL
	}
	return proxy, nil
}

// errProxyNotURL is worded as core words an internal error (the text users have seen);
// core reports it inside the REQUEST_ERROR of the request it stopped.
//
//lint:ignore ST1005 the wording users have seen (core words internal errors this way)
var errProxyNotURL = errors.New("Internal error: the proxy setting (HTTPS_PROXY or HTTP_PROXY) is not a URL")

// useProxy reports whether NO_PROXY lets a request to host:port go through the proxy.
func (env transportEnv) useProxy(host, port string) bool {
	ip := net.ParseIP(host)
	for _, entry := range strings.Split(strings.ToLower(env.noProxy), ",") {
		entry = strings.TrimSpace(entry)
		if entry == "*" {
			return false
		}
		if entry == "" {
			continue
		}
		if _, cidr, err := net.ParseCIDR(entry); err == nil {
			if ip != nil && cidr.Contains(ip) {
				return false
			}
			continue
		}
		name, entryPort := entry, ""
		if h, p, err := net.SplitHostPort(entry); err == nil {
			name, entryPort = h, p
		}
		if entryPort != "" && entryPort != port {
			continue
		}
		if entryIP := net.ParseIP(strings.Trim(name, "[]")); entryIP != nil {
			if ip != nil && entryIP.Equal(ip) {
				return false
			}
			continue
		}
		name = strings.TrimPrefix(name, "*")
		if host == strings.TrimPrefix(name, ".") || strings.HasSuffix(host, "."+strings.TrimPrefix(name, ".")) {
			return false
		}
	}
	return true
}
