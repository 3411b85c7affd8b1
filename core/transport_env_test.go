package stackauth_test

// Proxy and TLS settings come from the strategy's environment lookup when it is built
// (issue 12 item 10, docs/c-abi.md P27): HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE, SSL_CERT_DIR.

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
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
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() { defer p.wg.Done(); p.serve(c) }()
		}
	}()
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
