package stackauth_test

// How a strategy's requests travel: through a host's own transport (upstream 0.43's
// HttpTransport), or the built-in one, whose proxy and TLS settings come from the strategy's
// environment lookup when it is built (issue 12 item 10, docs/c-abi.md P27): HTTPS_PROXY,
// NO_PROXY, SSL_CERT_FILE, SSL_CERT_DIR.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	stackauth "github.com/stackauth/stack-auth/core"
	"github.com/stackauth/stack-auth/emulator"
)

// connectProxy is an HTTP CONNECT proxy on loopback that connects every tunnel to target,
// whatever host the client asked for, and records what it was asked.
type connectProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	asked  []string
	wg     sync.WaitGroup
}

func startConnectProxy(t *testing.T, target string) *connectProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &connectProxy{ln: ln, target: target}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.serve(c) })
		}
	})
	t.Cleanup(func() { _ = ln.Close(); p.wg.Wait() })
	return p
}

func (p *connectProxy) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.asked = append(p.asked, req.Method+" "+req.Host)
	p.mu.Unlock()
	if req.Method != http.MethodConnect {
		_, _ = io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	defer up.Close()
	_, _ = io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, br); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done // either side closed: close both, which ends the other copy
}

func (p *connectProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.asked...)
}

func TestProxyAndTLSSettingsComeFromTheStrategysEnvironment(t *testing.T) {
	const name = "cts.stack-auth.test"
	tlsCfg, certPEM, err := emulator.SelfSignedTLS(name)
	require.NoError(t, err)
	emu, err := emulator.New(emulator.Config{Addr: "127.0.0.1:0", TLS: tlsCfg})
	require.NoError(t, err)
	require.NoError(t, emu.Start())
	t.Cleanup(func() { _ = emu.Close() })
	emu.SetBaseURL("https://" + name + "/")
	proxy := startConnectProxy(t, emu.Addr())

	dir := t.TempDir()
	certFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(certFile, certPEM, 0o600))
	certDir := filepath.Join(dir, "certs")
	require.NoError(t, os.Mkdir(certDir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(certDir, "emulator.pem"), certPEM, 0o600))

	getToken := func(env map[string]string) (stackauth.ServiceToken, error) {
		s, err := stackauth.NewAccessKeyStrategy(emu.WorkspaceCRN(), emu.AccessKey(),
			stackauth.WithBaseURL("https://"+name+"/"),
			stackauth.WithLookupEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }))
		require.NoError(t, err)
		defer s.Close()
		return s.GetToken(context.Background())
	}
	proxyURL := "http://" + proxy.ln.Addr().String()
	for _, env := range []map[string]string{
		{"HTTPS_PROXY": proxyURL, "SSL_CERT_FILE": certFile},
		{"https_proxy": proxyURL, "SSL_CERT_DIR": certDir},
	} {
		before := len(proxy.requests())
		tok, err := getToken(env)
		require.NoError(t, err, "through the proxy, trusting the test certificate")
		ws, _ := tok.WorkspaceID()
		assert.Equal(t, emu.WorkspaceID(), ws)
		assert.Equal(t, []string{"CONNECT " + name + ":443"}, proxy.requests()[before:])
	}
	assert.Equal(t, 2, emu.RequestCount("/api/authorise"))

	// Without the certificate, the proxy is used and the server is not trusted. (A NO_PROXY
	// that matches would send the request direct, to a name only DNS could answer: not
	// tested, as tests stay on loopback.)
	before := len(proxy.requests())
	_, err = getToken(map[string]string{"HTTPS_PROXY": proxyURL, "NO_PROXY": "other.test"})
	assert.Equal(t, stackauth.CodeRequest, stackauth.AsAuthError(err).Code)
	assert.Len(t, proxy.requests(), before+1)
	assert.Equal(t, 2, emu.RequestCount("/api/authorise"))
}

// forwarder is a host transport that carries requests with its own http.Client and
// records what it was given.
type forwarder struct {
	mu   sync.Mutex
	seen []*stackauth.HTTPRequest
}

func (f *forwarder) Send(ctx context.Context, r *stackauth.HTTPRequest) (*stackauth.HTTPResponse, error) {
	f.mu.Lock()
	cp := &stackauth.HTTPRequest{Method: r.Method, URL: r.URL, Headers: append([][2]string(nil), r.Headers...), Body: bytes.Clone(r.Body)}
	f.seen = append(f.seen, cp)
	f.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return nil, err
	}
	for _, kv := range r.Headers {
		req.Header.Add(kv[0], kv[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var h [][2]string
	for k, vs := range resp.Header {
		for _, v := range vs {
			h = append(h, [2]string{strings.ToLower(k), v})
		}
	}
	return &stackauth.HTTPResponse{Status: resp.StatusCode, Headers: h, Body: body}, nil
}

// Every request of a strategy goes through the host's transport, with the user-agent set.
func TestHostTransportCarriesEveryRequest(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	f := &forwarder{}
	s, err := stackauth.NewAccessKeyStrategy(w.emu.WorkspaceCRN(), w.emu.AccessKey(), w.opts(stackauth.WithTransport(f))...)
	require.NoError(t, err)
	defer s.Close()
	tok, err := s.GetToken(context.Background())
	require.NoError(t, err)
	assert.Equal(t, w.emu.WorkspaceID(), must(tok.WorkspaceID()))
	require.Len(t, f.seen, 1)
	assert.Equal(t, 1, w.emu.RequestCount("/api/authorise"))
	r := f.seen[0]
	assert.Equal(t, "POST", r.Method)
	assert.Equal(t, w.emu.URL()+"api/authorise", r.URL)
	ua := ""
	for _, kv := range r.Headers {
		assert.Equal(t, strings.ToLower(kv[0]), kv[0], "header names are lower-case")
		if kv[0] == "user-agent" {
			ua = kv[1]
		}
	}
	assert.True(t, strings.HasPrefix(ua, "stack-auth/"), "user-agent %q", ua)
	// Neither request nor response shows a secret when printed.
	for _, s := range []string{r.String(), fmt.Sprintf("%v %+v %#v", r, r, r)} {
		assert.NotContains(t, s, w.emu.AccessKey())
		assert.Contains(t, s, "user-agent")
	}
}

func TestHostTransportFailuresAreRequestErrors(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	boom := errors.New("proxy said no")
	s, err := stackauth.NewAccessKeyStrategy(w.emu.WorkspaceCRN(), w.emu.AccessKey(), w.opts(stackauth.WithTransport(
		stackauth.HTTPTransportFunc(func(context.Context, *stackauth.HTTPRequest) (*stackauth.HTTPResponse, error) { return nil, boom })))...)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.GetToken(context.Background())
	assert.Equal(t, stackauth.CodeRequest, stackauth.AsAuthError(err).Code)
	assert.ErrorIs(t, err, boom)

	// A 503 HTML page from the host's client is the server's answer, summarised in one line.
	s2, err := stackauth.NewAccessKeyStrategy(w.emu.WorkspaceCRN(), w.emu.AccessKey(), w.opts(stackauth.WithTransport(
		stackauth.HTTPTransportFunc(func(context.Context, *stackauth.HTTPRequest) (*stackauth.HTTPResponse, error) {
			return &stackauth.HTTPResponse{Status: 503, Headers: [][2]string{{"content-type", "text/html"}},
				Body: []byte("<html>\n<head><title>503 Service Unavailable</title></head>\n<body>down</body></html>")}, nil
		})))...)
	require.NoError(t, err)
	defer s2.Close()
	_, err = s2.GetToken(context.Background())
	ae := stackauth.AsAuthError(err)
	assert.Equal(t, stackauth.CodeServer, ae.Code)
	assert.NotContains(t, ae.Message, "\n")
	assert.Contains(t, ae.Message, "503 Service Unavailable")
	assert.Equal(t, 0, w.emu.RequestCount("/api/authorise"), "nothing went around the transport")
}

func must[T any](v T, _ error) T { return v }
