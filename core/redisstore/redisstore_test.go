package redisstore_test

import (
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	stackauth "github.com/stackauth/stack-auth/core"
)

// Every form of Redis deployment opens from one URL (issue 18); nothing connects yet.
func TestOpenStoreAcceptsEveryRedisForm(t *testing.T) {
	for _, u := range []string{
		"redis://127.0.0.1:6379/0",
		"redis://sa:pw@127.0.0.1/2?prefix=app:&timeout=1s&lock_ttl=5s",
		"rediss://sa:pw@redis.example:6380/0",
		"redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster/0",
		"redis+sentinel://sa:pw@10.0.0.1,[::1]:26380/mymaster",
		"rediss+sentinel://10.0.0.1:26379/mymaster/1",
		"redis+cluster://10.0.0.1:7000,10.0.0.2:7001",
		"rediss+cluster://sa:pw@10.0.0.1:7000,10.0.0.2:7001/?pool_size=4",
	} {
		t.Run(u, func(t *testing.T) {
			st, err := stackauth.OpenStore(u)
			require.NoError(t, err)
			assert.NotContains(t, st.(interface{ String() string }).String(), "pw")
			require.NoError(t, st.(io.Closer).Close())
		})
	}
}

// A bad URL is an INVALID_URL error that names the part that is wrong and never quotes the
// password.
func TestRedisURLErrorsNameThePartAndHideThePassword(t *testing.T) {
	const pw = "s3cr3t-Passw0rd"
	missing := filepath.Join(t.TempDir(), "none.pem")
	for _, c := range []struct{ url, want string }{
		{"redis+nope://u:" + pw + "@h:1", "unsupported scheme"},
		{"redis+cluster://u:" + pw + "@h1:7000,h2:x", `"h2:x" is not host:port`},
		{"redis://u:" + pw + "@h1:6379,h2:6379/0", "several hosts"},
		{"redis+sentinel://u:" + pw + "@h1:26379", "names its master"},
		{"redis+sentinel://u:" + pw + "@h1:26379/m/x", "database number"},
		{"redis+cluster://u:" + pw + "@h1:7000/3", "only database 0"},
		{"redis://u:" + pw + "@h1:6379/abc", "database number"},
		{"redis://u:" + pw + "@h1:6379/0?timeout=soon", "timeout must be a positive duration"},
		{"redis://u:" + pw + "@h1:6379/0?lock_ttl=-1s", "lock_ttl must be a positive duration"},
		{"redis://u:" + pw + "@h1:6379/0?bogus=1", "unexpected option: bogus"},
		{"redis://u:" + pw + "@h1:6379/0?prefix={app}", "prefix must be"},
		{"redis://u:" + pw + "@h1:6379/0?ca=/etc/ca.pem", "need TLS"},
		{"rediss://u:" + pw + "@h1:6379/0?ca=" + missing, "ca: open " + missing},
		{"rediss://u:" + pw + "@h1:6379/0?cert=/c.pem", "cert and key go together"},
		{"rediss://u:" + pw + "@h1:6379/0?cert=" + missing + "&key=" + missing, "cert, key: open " + missing},
		{"redis://u:" + pw + "%zz@h1:6379/0", "user:password part"},
		{"redis://u:" + pw + "@h1:6379/0?a=%zz", "query string"},
		{"redis://u:" + pw + "@h1:6379/0?max_retries=" + pw, "max_retries"},
	} {
		t.Run(c.want, func(t *testing.T) {
			_, err := stackauth.OpenStore(c.url)
			require.Error(t, err)
			var ae *stackauth.AuthError
			require.True(t, errors.As(err, &ae))
			assert.Equal(t, stackauth.CodeInvalidURL, ae.Code)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), pw)
		})
	}
}

// SSL_CERT_FILE is read through the options' environment (the host's live one in C).
func TestRedissReadsSSLCertFileThroughTheOptions(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.pem")
	env := stackauth.WithLookupEnv(func(name string) (string, bool) {
		if name == "SSL_CERT_FILE" {
			return missing, true
		}
		return "", false
	})
	_, err := stackauth.OpenStore("rediss://127.0.0.1:6380/0", env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SSL_CERT_FILE: open "+missing)
	st, err := stackauth.OpenStore("redis://127.0.0.1:6380/0", env) // no TLS: not read
	require.NoError(t, err)
	require.NoError(t, st.(io.Closer).Close())
}
