package cts

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// proxyFor follows http.ProxyFromEnvironment's rules (golang.org/x/net/http/httpproxy).
func TestProxyForFollowsTheEnvironmentRules(t *testing.T) {
	env := transportEnv{httpProxy: "http-proxy:3128", httpsProxy: "https://user:pw@secure-proxy:443",
		noProxy: " internal.example, .corp.example ,10.0.0.0/8, 192.168.1.5, svc.example:8443, [::2]"}
	cases := []struct{ target, want string }{
		{"https://cts.example/api", "https://user:pw@secure-proxy:443"},
		{"http://cts.example/api", "http://http-proxy:3128"},
		{"https://localhost:8443/", ""},
		{"https://127.0.0.1/", ""},
		{"https://[::1]/", ""},
		{"https://internal.example/", ""},
		{"https://a.internal.example/", ""},
		{"https://xinternal.example/", "https://user:pw@secure-proxy:443"},
		{"https://corp.example/", ""},
		{"https://b.corp.example/", ""},
		{"https://10.1.2.3/", ""},
		{"https://11.1.2.3/", "https://user:pw@secure-proxy:443"},
		{"https://192.168.1.5/", ""},
		{"https://svc.example:8443/", ""},
		{"https://svc.example/", "https://user:pw@secure-proxy:443"},
		{"https://[::2]/", ""},
		{"ftp://cts.example/", ""},
	}
	for _, c := range cases {
		u, err := url.Parse(c.target)
		require.NoError(t, err)
		got, err := env.proxyFor(u)
		require.NoError(t, err, c.target)
		if c.want == "" {
			assert.Nil(t, got, c.target)
		} else if assert.NotNil(t, got, c.target) {
			assert.Equal(t, c.want, got.String(), c.target)
		}
	}

	u, _ := url.Parse("https://cts.example/")
	got, err := transportEnv{httpsProxy: "https://cts.example", noProxy: "*"}.proxyFor(u)
	assert.NoError(t, err)
	assert.Nil(t, got, "NO_PROXY=* turns the proxy off")
	got, err = transportEnv{}.proxyFor(u)
	assert.NoError(t, err)
	assert.Nil(t, got, "no proxy set")
	_, err = transportEnv{httpsProxy: "http://user:s3cret@[bad"}.proxyFor(u)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret")
}
