package stackauth

// docs/upstream.md 10.15, upstream transport.rs: exact request shapes, the user-agent on every
// request, how each kind of failure surfaces, and one HTTP client shared by strategies.

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// portCheckPOST asserts the common request conventions of docs/protocol.md 2.2.
func portCheckPOST(t *testing.T, fake *fakeCTS, path, contentType string) {
	t.Helper()
	h := fake.header(path, 0)
	assert.Equal(t, UserAgent, h.Get("user-agent"), "every request carries the user-agent")
	assert.Equal(t, contentType, h.Get("content-type"))
	assert.Empty(t, h.Get("authorization"), "credentials travel in the body, not a header")
}

func portOIDCStrategy(t *testing.T, jwt string, opts ...Option) *OidcFederationStrategy {
	t.Helper()
	s, err := NewOidcFederationStrategy(testCRN, func(context.Context) (SecretToken, error) {
		return NewSecretToken(jwt), nil
	}, opts...)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

func TestTransport_RefreshPostsAFormAndReadsTheToken(t *testing.T) {
	fake := newFakeCTS(t)
	clock := testClock()
	var method atomic.Value
	fake.handle("/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		method.Store(r.Method)
		writeJSON(w, 200, map[string]any{"access_token": "new-at", "token_type": "Bearer", "expires_in": 900, "refresh_token": "rt-2"})
	})
	tok, err := portCTS(t, fake.URL, clock).refresh(portCtx(t), NewSecretToken("rt"), "cli", "")
	require.NoError(t, err)
	assert.Equal(t, "POST", method.Load())
	assert.Equal(t, "grant_type=refresh_token&client_id=cli&refresh_token=rt", fake.body("/oauth/token", 0))
	portCheckPOST(t, fake, "/oauth/token", "application/x-www-form-urlencoded")
	assert.Equal(t, "new-at", tok.AccessToken.Reveal())
	assert.Equal(t, "rt-2", tok.RefreshToken.Reveal())
	assert.Equal(t, uint64(clock.Now().Unix())+900, tok.ExpiresAt)
}

func TestTransport_RefreshEncodesFormValues(t *testing.T) {
	fake := newFakeCTS(t)
	fake.handle("/oauth/token", refreshOK(t, testClock(), "", time.Hour))
	_, err := portCTS(t, fake.URL, testClock()).refresh(portCtx(t), NewSecretToken("a+b/c=d&e"), "cli", "")
	require.NoError(t, err)
	assert.Equal(t, "grant_type=refresh_token&client_id=cli&refresh_token=a%2Bb%2Fc%3Dd%26e", fake.body("/oauth/token", 0))
}

func TestTransport_RefreshClassifiesTheOAuthErrorBody(t *testing.T) {
	fake := newFakeCTS(t)
	fake.handle("/oauth/token", portOAuthError(400, "invalid_grant"))
	_, err := portCTS(t, fake.URL, testClock()).refresh(portCtx(t), NewSecretToken("rt"), "cli", "")
	portRequireCode(t, err, CodeInvalidGrant)
}

// portFixedToken makes fake's /api/authorise answer one token for testWS expiring 15
// minutes after clock's now, and returns the token and that expiry.
func portFixedToken(t *testing.T, fake *fakeCTS, clock Clock) (string, int64) {
	exp := clock.Now().Add(15 * time.Minute).Unix()
	jwt := portJWT(t, testWS, exp)
	fake.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"accessToken": jwt, "expiry": exp})
	})
	return jwt, exp
}

func TestTransport_AccessKeyPostsJSONAndMapsTheResponse(t *testing.T) {
	fake := newFakeCTS(t)
	clock := testClock()
	jwt, expiry := portFixedToken(t, fake, clock)
	s, err := NewAccessKeyStrategy(testCRN, "CSAKid.secret", portOpts(fake, clock, WithAudience("aud"))...)
	require.NoError(t, err)
	t.Cleanup(s.Close)

	tok, err := s.GetToken(portCtx(t))
	require.NoError(t, err)
	assert.Equal(t, `{"accessKey":"CSAKid.secret","audience":"aud"}`, fake.body("/api/authorise", 0))
	portCheckPOST(t, fake, "/api/authorise", "application/json")
	assert.Equal(t, jwt, tok.Token().Reveal())
	assert.Equal(t, uint64(expiry), tok.ExpiresAt(), "expiry is an absolute epoch, used as it is")

	cur := s.current()
	require.NotNil(t, cur)
	assert.Equal(t, "Bearer", cur.TokenType)
	assert.Equal(t, uint64(expiry), cur.ExpiresAt)
	assert.True(t, cur.RefreshToken.IsEmpty(), "the access-key exchange issues no refresh token")
	assert.Empty(t, cur.Region)
	assert.Empty(t, cur.ClientID)
	assert.Empty(t, cur.DeviceInstanceID)
}

func TestTransport_ABare402IsAUsageLimitOnEveryExchange(t *testing.T) {
	bare402 := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(402) }
	exchanges := map[string]func(t *testing.T, fake *fakeCTS) error{
		"access key": func(t *testing.T, fake *fakeCTS) error {
			fake.handle("/api/authorise", bare402)
			s := portAccessKeyStrategy(t, testCRN, portOpts(fake, testClock())...)
			_, err := s.GetToken(portCtx(t))
			return err
		},
		"oidc": func(t *testing.T, fake *fakeCTS) error {
			fake.handle("/api/authorise", bare402)
			_, err := portOIDCStrategy(t, "header.payload.signature", portOpts(fake, testClock())...).GetToken(portCtx(t))
			return err
		},
		"refresh": func(t *testing.T, fake *fakeCTS) error {
			fake.handle("/oauth/token", bare402)
			_, err := portCTS(t, fake.URL, testClock()).refresh(portCtx(t), NewSecretToken("rt"), "cli", "")
			return err
		},
		"device poll": func(t *testing.T, fake *fakeCTS) error {
			fake.handle("/oauth/device/code", portDeviceCodeOK(900))
			fake.handle("/oauth/device/token", bare402)
			s, err := NewDeviceCodeStrategy(testRegion, CLIClientID, WithBaseURL(fake.URL), emptyEnv(),
				WithProfileDir(t.TempDir()), WithClock(testClock()))
			require.NoError(t, err)
			p, err := s.Begin(portCtx(t))
			require.NoError(t, err)
			_, err = p.PollForToken(portCtx(t))
			return err
		},
	}
	for name, exchange := range exchanges {
		t.Run(name, func(t *testing.T) {
			ae := portRequireCode(t, exchange(t, newFakeCTS(t)), CodeUsageLimitExceeded)
			assert.Equal(t, defaultUsageLimitMessage, ae.Error())
			assert.False(t, ae.Retryable())
		})
	}
}

func TestTransport_AnUnclassifiedFailureIsAServerErrorWithTheBody(t *testing.T) {
	fake := newFakeCTS(t)
	fake.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) { writeText(w, 500, "boom") })
	_, err := portCTS(t, fake.URL, testClock()).authorise(portCtx(t), accessKeyBody{AccessKey: NewSecretToken("CSAKid.secret")})
	ae := portRequireCode(t, err, CodeServer)
	assert.Equal(t, "500: boom", ae.Detail)
	assert.Equal(t, "Server error: 500: boom", ae.Error())
	assert.True(t, ae.Retryable())

	s := portAccessKeyStrategy(t, testCRN, portOpts(fake, testClock())...)
	_, err = s.GetToken(portCtx(t))
	ae = portRequireCode(t, err, CodeServer)
	assert.Equal(t, "Server error: 500: boom", ae.Error())

	fake.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 401, map[string]any{"error": "unauthorized"})
	})
	_, err = portOIDCStrategy(t, "header.payload.signature", portOpts(fake, testClock())...).GetToken(portCtx(t))
	ae = portRequireCode(t, err, CodeServer)
	assert.Contains(t, ae.Error(), "HTTP 401")
	assert.Contains(t, ae.Error(), "unauthorized")
}

func TestTransport_ATransportFailureIsARequestError(t *testing.T) {
	closed := portClosedURL(t)
	c := portCTS(t, closed, testClock())
	_, err := c.authorise(portCtx(t), accessKeyBody{AccessKey: NewSecretToken("CSAKid.secret")})
	ae := portRequireCode(t, err, CodeRequest)
	assert.True(t, ae.Retryable())
	assert.NotContains(t, ae.Error(), "CSAKid.secret")

	_, err = c.refresh(portCtx(t), NewSecretToken("rt-secret"), "cli", "")
	ae = portRequireCode(t, err, CodeRequest)
	assert.NotContains(t, ae.Error(), "rt-secret")

	s, err := NewDeviceCodeStrategy(testRegion, CLIClientID, WithBaseURL(closed), emptyEnv())
	require.NoError(t, err)
	_, err = s.Begin(portCtx(t))
	portRequireCode(t, err, CodeRequest)

	ak := portAccessKeyStrategy(t, testCRN, WithBaseURL(closed), emptyEnv(), WithClock(testClock()))
	_, err = ak.GetToken(portCtx(t))
	portRequireCode(t, err, CodeRequest)
}

func TestTransport_AnUndecodableSuccessBodyIsARequestError(t *testing.T) {
	bodies := map[string]string{
		"html":             "<html>ok</html>",
		"missing fields":   `{}`,
		"wrong field type": `{"accessToken": 5, "expiry": "soon"}`,
	}
	for name, body := range bodies {
		t.Run("authorise "+name, func(t *testing.T) {
			fake := newFakeCTS(t)
			fake.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) { writeText(w, 200, body) })
			_, err := portCTS(t, fake.URL, testClock()).authorise(portCtx(t), accessKeyBody{AccessKey: NewSecretToken("CSAKid.secret")})
			portRequireCode(t, err, CodeRequest)
		})
		t.Run("refresh "+name, func(t *testing.T) {
			fake := newFakeCTS(t)
			fake.handle("/oauth/token", func(w http.ResponseWriter, r *http.Request) { writeText(w, 200, body) })
			_, err := portCTS(t, fake.URL, testClock()).refresh(portCtx(t), NewSecretToken("rt"), "cli", "")
			portRequireCode(t, err, CodeRequest)
		})
	}
}

func TestTransport_AnySuccessStatusIsSuccess(t *testing.T) {
	fake := newFakeCTS(t)
	clock := testClock()
	fake.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) {
		exp := clock.Now().Add(time.Hour).Unix()
		writeJSON(w, 201, map[string]any{"accessToken": portJWT(t, testWS, exp), "expiry": exp})
	})
	_, err := portCTS(t, fake.URL, clock).authorise(portCtx(t), accessKeyBody{AccessKey: NewSecretToken("CSAKid.secret")})
	require.NoError(t, err)
}

// portCountingTransport counts round trips through a shared client.
type portCountingTransport struct {
	n    atomic.Int32
	next http.RoundTripper
}

func (c *portCountingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func TestTransport_ASharedClientServesMoreThanOneStrategy(t *testing.T) {
	fake := newFakeCTS(t)
	clock := testClock()
	fake.handle("/api/authorise", authoriseOK(t, clock, testWS, 15*time.Minute))
	rt := &portCountingTransport{next: http.DefaultTransport}
	client := &http.Client{Transport: rt}

	ak := portAccessKeyStrategy(t, testCRN, portOpts(fake, clock, WithHTTPClient(client))...)
	oidc := portOIDCStrategy(t, "header.payload.signature", portOpts(fake, clock, WithHTTPClient(client))...)
	_, err := ak.GetToken(portCtx(t))
	require.NoError(t, err)
	_, err = oidc.GetToken(portCtx(t))
	require.NoError(t, err)
	assert.Equal(t, int32(2), rt.n.Load(), "both strategies went through the one client")
	assert.Equal(t, 2, fake.count("/api/authorise"))
}

func TestTransport_DebugLogNamesStatusAndLengthAndNeverASecret(t *testing.T) {
	fake := newFakeCTS(t)
	clock := testClock()
	jwt, _ := portFixedToken(t, fake, clock)
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := portAccessKeyStrategy(t, testCRN, portOpts(fake, clock, WithLogger(logger))...)
	_, err := s.GetToken(portCtx(t))
	require.NoError(t, err)

	out := buf.String()
	assert.Contains(t, out, "body_len")
	assert.Contains(t, out, `"status":200`)
	assert.NotContains(t, out, testAccessKey)
	assert.NotContains(t, out, "secret-value-here")
	assert.NotContains(t, out, jwt)
	assert.NotContains(t, out, strings.Split(jwt, ".")[1])
}
