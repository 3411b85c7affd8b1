package stackauth

// Canary: run every flow with a debug logger and the event hook on, and check that no
// secret reaches any log line, event, error string or debug print.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type canary struct {
	mu  sync.Mutex
	out bytes.Buffer // log lines, events, error strings and debug prints
}

func (c *canary) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}

func (c *canary) record(format string, args ...any) {
	_, _ = fmt.Fprintf(c, format+"\n", args...)
}

func (c *canary) opts() []Option {
	logger := slog.New(slog.NewJSONHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return []Option{WithLogger(logger), WithEvents(func(ev Event) { c.record("event %+v %#v", ev, ev) })}
}

func TestNoSecretReachesAnyOutput(t *testing.T) {
	clock := testClock()
	c := &canary{}
	const (
		deviceCode   = "DEVICE-CODE-CANARY-7c1f"
		refreshToken = "REFRESH-CANARY-93ab"
		rotatedToken = "REFRESH-CANARY-ROTATED-11de"
		clientKey    = "CLIENT-KEY-CANARY-b64=="
		oidcJWT      = "eyJoZWFkZXIiOiJjYW5hcnkifQ.eyJzdWIiOiJvaWRjLWNhbmFyeSJ9.U0lHLUNBTkFSWQ"
	)
	minted := map[string]bool{}
	var mintedMu sync.Mutex
	mint := func(ttl time.Duration) string {
		claims := ctsClaims(testWS, clock.Now().Add(ttl).Unix())
		claims["jti"] = jtiCounter.Add(1)
		jwt := makeJWT(t, claims)
		mintedMu.Lock()
		minted[jwt] = true
		mintedMu.Unlock()
		return jwt
	}

	f := newFakeCTS(t)
	authorise := 0
	f.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) {
		authorise++
		if authorise == 1 { // a failure whose body is logged at debug level
			writeText(w, 503, "unavailable")
			return
		}
		exp := clock.Now().Add(time.Hour).Unix()
		writeJSON(w, 200, map[string]any{"accessToken": mint(time.Hour), "expiry": exp})
	})
	f.handle("/oauth/device/code", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"device_code": deviceCode, "user_code": "ABCD-EFGH",
			"verification_uri": f.URL + "/device", "verification_uri_complete": f.URL + "/device?user_code=ABCD-EFGH", "expires_in": 900})
	})
	polls := 0
	f.handle("/oauth/device/token", func(w http.ResponseWriter, r *http.Request) {
		polls++
		if polls == 1 {
			writeJSON(w, 400, map[string]any{"error": "authorization_pending"})
			return
		}
		claims := ctsClaims(testWS, clock.Now().Add(time.Minute).Unix())
		claims["services"] = map[string]any{"zerokms": f.URL + "/zerokms/"}
		jwt := makeJWT(t, claims)
		mintedMu.Lock()
		minted[jwt] = true
		mintedMu.Unlock()
		writeJSON(w, 200, map[string]any{"access_token": jwt, "token_type": "Bearer", "expires_in": 60, "refresh_token": refreshToken})
	})
	f.handle("/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"access_token": mint(time.Hour), "token_type": "Bearer", "expires_in": 3600, "refresh_token": rotatedToken})
	})
	f.handle("/zerokms/create-client", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"id": "2b7c0d8e-5a7e-4a4e-9f0e-1d1c2b3a4f5e", "client_key": clientKey, "name": "n", "description": "n"})
	})

	ctx := context.Background()
	dir := t.TempDir()
	common := append([]Option{WithBaseURL(f.URL), WithClock(clock), emptyEnv(), WithProfileDir(dir)}, c.opts()...)

	// Access key: a failure, then a token, then a mismatched workspace.
	ak, err := NewAccessKeyStrategy(testCRN, testAccessKey, common...)
	require.NoError(t, err)
	defer ak.Close()
	_, err = ak.GetToken(ctx)
	c.record("error %v %+v %#v", err, err, err)
	tok, err := ak.GetToken(ctx)
	require.NoError(t, err)
	c.record("strategy %v %+v %#v token %v %+v %#v %s %q %x", ak, ak, ak, tok, tok, tok, tok, tok, tok)
	c.record("result %v %+v", tok.Result(), tok.Result())
	tm := ak.current()
	c.record("token model %v %+v %#v %s", tm, tm, tm, tm)
	key, _ := ParseAccessKey(testAccessKey)
	c.record("key %v %+v %#v %s %q %x", key, key, key, key, key, key)
	for _, h := range []slog.Handler{slog.NewJSONHandler(c, nil), slog.NewTextHandler(c, nil)} {
		slog.New(h).Info("values", "token", tok, "model", tm, "key", key, "secret", key.Secret(), "result", tok.Result())
	}

	// Device code login, session refresh, device binding.
	dc, err := NewDeviceCodeStrategy(testRegion, CLIClientID, append(common, withSleep(func(context.Context, time.Duration) error { return nil }),
		WithDeviceIdentity(DeviceIdentity{DeviceInstanceID: "0b9c7d8e-1111-4222-8333-944455556666", DeviceName: "host"}))...)
	require.NoError(t, err)
	pending, err := dc.Begin(ctx)
	require.NoError(t, err)
	c.record("pending %v %+v %#v %s", pending, pending, pending, pending)
	slog.New(slog.NewJSONHandler(c, nil)).Info("pending", "code", pending)
	session, err := pending.PollForToken(ctx)
	require.NoError(t, err)
	c.record("session %v %+v %#v", session, session, session)
	slog.New(slog.NewJSONHandler(c, nil)).Info("session", "token", session)
	_, err = pending.PollForToken(ctx)
	c.record("second poll %v", err)
	require.NoError(t, BindClientDevice(ctx, common...))

	ds, err := DeviceSessionStrategyFromProfile(common...)
	require.NoError(t, err)
	defer ds.Close()
	clock.Advance(2 * time.Minute)
	stok, err := ds.GetToken(ctx)
	require.NoError(t, err)
	c.record("device session %v %+v %#v %v", ds, ds, ds, stok)

	// OIDC federation, including a provider failure.
	oidc, err := NewOidcFederationStrategy(testCRN, func(context.Context) (SecretToken, error) { return NewSecretToken(oidcJWT), nil }, common...)
	require.NoError(t, err)
	otok, err := oidc.GetToken(ctx)
	require.NoError(t, err)
	c.record("oidc %v %+v %v", oidc, oidc, otok)

	// Stores.
	mem := NewInMemoryTokenStore()
	require.NoError(t, mem.Save(ctx, session))
	c.record("store %v %+v %#v", mem, mem, mem)

	c.mu.Lock()
	out := c.out.String()
	c.mu.Unlock()
	require.NotEmpty(t, out)
	assert.Contains(t, out, "refresh_succeeded", "the events were recorded")
	assert.Contains(t, out, `"level":"DEBUG"`, "the debug log was on")
	secrets := map[string]string{"access key": testAccessKey, "access key secret": "secret-value-here",
		"device code": deviceCode, "refresh token": refreshToken, "rotated refresh token": rotatedToken,
		"client key": clientKey, "oidc jwt": oidcJWT}
	mintedMu.Lock()
	i := 0
	for jwt := range minted {
		i++
		secrets[fmt.Sprintf("access token %d", i)] = jwt
		secrets[fmt.Sprintf("access token %d payload", i)] = strings.Split(jwt, ".")[1]
	}
	mintedMu.Unlock()
	for name, secret := range secrets {
		// Report only the name: the test's own output must not carry the secret either.
		assert.False(t, strings.Contains(out, secret), "%s leaked", name)
	}
}

// A proxy or debug server that echoes the request must not put the secrets it echoes into
// our error messages.
func TestServerErrorsMaskEchoedSecrets(t *testing.T) {
	f := newFakeCTS(t)
	echo := func(w http.ResponseWriter, r *http.Request) {
		body := f.body(r.URL.Path, f.count(r.URL.Path)-1) // fakeCTS has read it already
		writeText(w, 502, "bad gateway, request was: "+body)
	}
	f.handle("/api/authorise", echo)
	f.handle("/oauth/token", echo)
	clock := testClock()

	ak := newTestAccessKeyStrategy(t, f, clock)
	_, err := ak.GetToken(context.Background())
	require.Error(t, err)
	assert.Equal(t, CodeServer, AsAuthError(err).Code)
	assert.NotContains(t, err.Error(), "secret-value-here")
	assert.Contains(t, err.Error(), "bad gateway")

	s := newTestSession(t, f, clock, sessionToken(t, clock, -time.Minute, "REFRESH-SECRET-9f3a"))
	_, err = s.GetToken(context.Background())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "REFRESH-SECRET-9f3a")
}

// A server that echoes what it was sent, in every kind of answer whose text we report: 402
// descriptions, OAuth error_description, 5xx OAuth bodies, unparseable bodies, device-code
// polling errors. No echoed secret, raw or form-encoded, and no newline a server sends may
// reach a message, the error JSON, an event or a log line.
func TestEchoedSecretsNeverReachAnyOutput(t *testing.T) {
	const (
		refreshToken = "REFRESH/CANARY+echo=77"
		deviceCode   = "DEVICE/CODE+CANARY=5e"
		oidcJWT      = "eyJoZWFkZXIiOiJlY2hvIn0.eyJzdWIiOiJlY2hvLWNhbmFyeSJ9.RUNITy1TSUc"
	)
	secrets := map[string]string{"access key": testAccessKey, "access key secret": "secret-value-here",
		"refresh token": refreshToken, "device code": deviceCode, "oidc jwt": oidcJWT}
	// echo is what a careless server puts in its answer: each form of the secret, and a newline.
	echo := func(secret string) string {
		return "got " + secret + "\nform " + url.QueryEscape(secret) + "\r\nend"
	}
	type answer func(w http.ResponseWriter, secret string, form string)
	answers := map[string]answer{
		"402 description": func(w http.ResponseWriter, s, _ string) {
			writeJSON(w, 402, map[string]any{"error": "access_denied", "error_description": echo(s)})
		},
		"402 org not provisioned": func(w http.ResponseWriter, s, _ string) {
			writeJSON(w, 402, map[string]any{"error": "access_denied", "cs_code": "ORG_NOT_PROVISIONED", "error_description": echo(s)})
		},
		"400 invalid_request": func(w http.ResponseWriter, s, _ string) {
			writeJSON(w, 400, map[string]any{"error": "invalid_request", "error_description": echo(s)})
		},
		"500 OAuth body": func(w http.ResponseWriter, s, _ string) {
			writeJSON(w, 500, map[string]any{"error": "server_error", "error_description": echo(s)})
		},
		"502 echo of the request": func(w http.ResponseWriter, s, form string) {
			writeText(w, 502, "bad gateway\nrequest was: "+form+"\n"+echo(s))
		},
	}
	type flow struct {
		path, secret string
		run          func(t *testing.T, base string, opts []Option) error
	}
	flows := map[string]flow{
		"access key": {"/api/authorise", testAccessKey, func(t *testing.T, base string, opts []Option) error {
			s, err := NewAccessKeyStrategy(testCRN, testAccessKey, opts...)
			require.NoError(t, err)
			defer s.Close()
			_, err = s.GetToken(context.Background())
			return err
		}},
		"oidc": {"/api/authorise", oidcJWT, func(t *testing.T, base string, opts []Option) error {
			s, err := NewOidcFederationStrategy(testCRN, func(context.Context) (SecretToken, error) { return NewSecretToken(oidcJWT), nil }, opts...)
			require.NoError(t, err)
			defer s.Close()
			_, err = s.GetToken(context.Background())
			return err
		}},
		"refresh": {"/oauth/token", refreshToken, func(t *testing.T, base string, opts []Option) error {
			s, err := NewDeviceSessionStrategy(testRegion, CLIClientID, sessionToken(t, testClock(), -time.Minute, refreshToken), opts...)
			require.NoError(t, err)
			defer s.Close()
			_, err = s.GetToken(context.Background())
			return err
		}},
		"device code polling": {"/oauth/device/token", deviceCode, func(t *testing.T, base string, opts []Option) error {
			dc, err := NewDeviceCodeStrategy(testRegion, CLIClientID, append(opts, WithProfileDir(t.TempDir()),
				withSleep(func(context.Context, time.Duration) error { return nil }))...)
			require.NoError(t, err)
			pending, err := dc.Begin(context.Background())
			require.NoError(t, err)
			_, err = pending.PollForToken(context.Background())
			return err
		}},
	}
	for flowName, fl := range flows {
		for answerName, answer := range answers {
			t.Run(flowName+"/"+answerName, func(t *testing.T) {
				c := &canary{}
				f := newFakeCTS(t)
				f.handle("/oauth/device/code", func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, 200, map[string]any{"device_code": deviceCode, "user_code": "ABCD-EFGH",
						"verification_uri": f.URL + "/device", "expires_in": 900})
				})
				f.handle(fl.path, func(w http.ResponseWriter, r *http.Request) {
					answer(w, fl.secret, f.body(fl.path, f.count(fl.path)-1))
				})
				opts := append([]Option{WithBaseURL(f.URL), WithClock(testClock()), emptyEnv()}, c.opts()...)
				err := fl.run(t, f.URL, opts)
				require.Error(t, err)
				ae := AsAuthError(err)
				data, jerr := ae.MarshalJSON()
				require.NoError(t, jerr)
				c.record("error %v %+v %#v json %s", err, err, err, data)
				assert.NotContains(t, ae.Message, "\n", "one line")
				assert.NotContains(t, ae.Message, "\r", "one line")
				out := c.out.String()
				for name, secret := range secrets {
					for form, text := range map[string]string{"raw": secret, "form-encoded": url.QueryEscape(secret)} {
						// Report only the name: the test's own output must not carry the secret.
						assert.False(t, strings.Contains(out, text), "%s (%s) leaked", name, form)
					}
				}
				assert.Contains(t, ae.Message, "got "+secretMask, "the server's text is kept, masked: %s", ae.Code)
			})
		}
	}
}
