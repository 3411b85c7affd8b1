package stackauth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	stackauth "github.com/stackauth/stack-auth/core"
	"github.com/stackauth/stack-auth/emulator"
)

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
