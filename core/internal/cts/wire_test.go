package cts

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// docs/upstream.md 10.12, upstream device_code/tests.rs: the base-URL joins keep the base
// path, with or without its trailing slash, and never modify the base.
func TestBaseURLJoinsKeepTheBasePath(t *testing.T) {
	cases := []struct{ name, base, withSlash, joined string }{
		{"root url", "http://localhost:3001", "http://localhost:3001/", "http://localhost:3001/oauth/device/code"},
		{"root url with slash", "http://localhost:3001/", "http://localhost:3001/", "http://localhost:3001/oauth/device/code"},
		{"with path", "http://localhost:3001/api/v1", "http://localhost:3001/api/v1/", "http://localhost:3001/api/v1/oauth/device/code"},
		{"with path and slash", "http://localhost:3001/api/v1/", "http://localhost:3001/api/v1/", "http://localhost:3001/api/v1/oauth/device/code"},
	}
	for _, tc := range cases {
		u, err := url.Parse(tc.base)
		require.NoError(t, err)
		t.Run(tc.name+"/EnsureTrailingSlash", func(t *testing.T) {
			assert.Equal(t, tc.withSlash, EnsureTrailingSlash(u).String())
			assert.Equal(t, tc.base, u.String(), "the base URL is not modified")
		})
		t.Run(tc.name+"/JoinRelative", func(t *testing.T) {
			assert.Equal(t, tc.joined, JoinRelative(u, "oauth/device/code"))
			assert.Equal(t, tc.base, u.String(), "the base URL is not modified")
		})
	}
}
