package stackauth_test

// Where upstream 0.43 is right and we differed (issue 13): CRNs and regions, token claims,
// message wording, and an empty provider JWT. Each against the emulator over loopback HTTP.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	stackauth "github.com/stackauth/stack-auth/core"
	"github.com/stackauth/stack-auth/emulator"
)

var upstreamRegions = []string{"ap-southeast-2.aws", "ca-central-1.aws", "eu-central-1.aws", "eu-west-1.aws",
	"us-east-1.aws", "us-east-2.aws", "us-west-1.aws", "us-west-2.aws"}

func TestOnlyUpstreamsRegionsAndServiceNamesBuildAStrategy(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	ws := w.emu.WorkspaceID()
	provider := func(context.Context) (stackauth.SecretToken, error) {
		return stackauth.NewSecretToken(fakeProviderJWT(`{"sub":"u"}`)), nil
	}
	for _, crn := range []string{
		"crn:ap-northeast-1.aws:" + ws,               // a real AWS region upstream does not serve
		"crn:ap-southeast-2.aws:" + ws + ":zero.kms", // a service name with a dot
		"crn:ap-southeast-2.aws:" + ws + ":zero kms",
		"crn:ap-southeast-2.gcp:" + ws,
	} {
		t.Run(crn, func(t *testing.T) {
			builds := map[string]func() (stackauth.AuthStrategy, error){
				"access key": func() (stackauth.AuthStrategy, error) {
					return stackauth.NewAccessKeyStrategy(crn, w.emu.AccessKey(), w.opts()...)
				},
				"oidc": func() (stackauth.AuthStrategy, error) {
					return stackauth.NewOidcFederationStrategy(crn, provider, w.opts()...)
				},
				"auto": func() (stackauth.AuthStrategy, error) {
					env := map[string]string{"CS_CLIENT_ACCESS_KEY": w.emu.AccessKey(), "CS_WORKSPACE_CRN": crn, "CS_CTS_HOST": w.emu.URL()}
					return stackauth.DetectAutoStrategy(stackauth.WithProfileDir(t.TempDir()),
						stackauth.WithLookupEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }))
				},
			}
			for name, build := range builds {
				s, err := build()
				if err == nil { // today: built, and the key goes to a server
					_, err = s.GetToken(context.Background())
					s.(interface{ Close() }).Close()
				}
				ae := stackauth.AsAuthError(err)
				require.NotNil(t, ae, name)
				assert.Equal(t, stackauth.CodeInvalidCrn, ae.Code, "%s: %v", name, err)
				for _, r := range upstreamRegions {
					assert.Contains(t, ae.Help, r, name)
				}
			}
			assert.Empty(t, w.emu.Requests(), "no request is sent")
		})
	}

	for _, r := range upstreamRegions {
		_, err := stackauth.ParseCrn("crn:" + r + ":" + ws + ":zero_kms-2")
		assert.NoError(t, err, r)
	}
	_, err := stackauth.NewDeviceCodeStrategy("ap-northeast-1.aws", stackauth.CLIClientID, w.opts()...)
	ae := stackauth.AsAuthError(err)
	require.NotNil(t, ae)
	assert.Equal(t, stackauth.CodeInvalidRegion, ae.Code)
	assert.Contains(t, ae.Help, "ca-central-1.aws")
	assert.Equal(t, upstreamRegions, sortedCopy(stackauth.KnownRegions))
}

// errCode is the code of err, "" for nil (codeOf assumes an error).
func errCode(err error) string {
	if err == nil {
		return ""
	}
	return stackauth.AsAuthError(err).Code
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

// craftedJWT is a CTS-shaped token with the given claims; the client never checks signatures.
func craftedJWT(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	return fakeProviderJWT(string(b))
}

func ctsClaimsFor(w *world, workspace any) map[string]any {
	now := w.clock.Now().Unix()
	c := map[string]any{"iss": w.emu.URL(), "sub": "CS|CSAKtest", "aud": "a", "iat": now, "exp": now + 3600}
	if workspace != nil {
		c["workspace"] = workspace
	}
	return c
}

// serveToken makes the next /api/authorise answer 200 with the crafted token.
func serveToken(w *world, claims map[string]any) {
	body := fmt.Sprintf(`{"accessToken":%q,"expiry":%d}`, craftedJWT(claims), w.clock.Now().Unix()+3600)
	w.emu.InjectFault(emulator.Fault{Path: "/api/authorise", Status: 200, Body: body, Count: 1})
}

func TestTokenClaimsAreDecodedAllOrNothing(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, emulator.Config{})
	ws := w.emu.WorkspaceID()

	for name, edit := range map[string]func(map[string]any){
		"no iss":                func(c map[string]any) { delete(c, "iss") },
		"no sub":                func(c map[string]any) { delete(c, "sub") },
		"no workspace":          func(c map[string]any) { delete(c, "workspace") },
		"not a workspace id":    func(c map[string]any) { c["workspace"] = "not-a-workspace-id" },
		"a numeric workspace":   func(c map[string]any) { c["workspace"] = 42 },
		"an iss that is no URL": func(c map[string]any) { c["iss"] = "not a url" },
	} {
		t.Run(name, func(t *testing.T) {
			claims := ctsClaimsFor(w, ws)
			edit(claims)
			serveToken(w, claims)
			_, err := w.accessKey(t).GetToken(ctx)
			assert.Equal(t, stackauth.CodeInvalidToken, errCode(err), "%v", err)

			st := stackauth.NewServiceToken(stackauth.NewSecretToken(craftedJWT(claims)))
			for accessor, get := range map[string]func() error{
				"subject":   func() error { _, err := st.Subject(); return err },
				"workspace": func() error { _, err := st.WorkspaceID(); return err },
				"issuer":    func() error { _, err := st.Issuer(); return err },
				"services":  func() error { _, err := st.Services(); return err },
			} {
				assert.Equal(t, stackauth.CodeInvalidToken, errCode(get()), accessor)
			}
		})
	}

	t.Run("a legacy ws: prefix is read as the bare id", func(t *testing.T) {
		serveToken(w, ctsClaimsFor(w, "ws:"+ws))
		tok, err := w.accessKey(t).GetToken(ctx)
		require.NoError(t, err)
		got, err := tok.WorkspaceID()
		require.NoError(t, err)
		assert.Equal(t, ws, got)
	})

	t.Run("a device login whose token has a ws: prefix is saved under the bare id", func(t *testing.T) {
		dir := t.TempDir()
		w.emu.SetAutoApprove(true)
		claims := ctsClaimsFor(w, "ws:"+ws)
		body := fmt.Sprintf(`{"access_token":%q,"token_type":"Bearer","expires_in":3600,"refresh_token":"rt"}`, craftedJWT(claims))
		w.emu.InjectFault(emulator.Fault{Path: "/oauth/device/token", Status: 200, Body: body, Count: 1})
		dc, err := stackauth.NewDeviceCodeStrategy(w.emu.Region(), stackauth.CLIClientID, w.opts(stackauth.WithProfileDir(dir))...)
		require.NoError(t, err)
		pending, err := dc.Begin(ctx)
		require.NoError(t, err)
		_, err = pending.PollForToken(ctx)
		require.NoError(t, err)
		s, err := stackauth.DeviceSessionStrategyFromProfile(stackauth.WithClock(w.clock), stackauth.WithProfileDir(dir),
			stackauth.WithBaseURL(w.emu.URL()), stackauth.WithLookupEnv(func(string) (string, bool) { return "", false }))
		require.NoError(t, err)
		defer s.Close()
		crn, ok := s.WorkspaceCrn()
		require.True(t, ok)
		assert.Equal(t, w.emu.WorkspaceCRN(), crn.String())
	})
}

// login runs a device-code login against the emulator and returns the saved session.
func login(t *testing.T, w *world) *stackauth.Token {
	t.Helper()
	w.emu.SetAutoApprove(true)
	dc, err := stackauth.NewDeviceCodeStrategy(w.emu.Region(), stackauth.CLIClientID, w.opts(stackauth.WithProfileDir(t.TempDir()))...)
	require.NoError(t, err)
	pending, err := dc.Begin(context.Background())
	require.NoError(t, err)
	tok, err := pending.PollForToken(context.Background())
	require.NoError(t, err)
	return tok
}

func TestMessagesAreWordedAsUpstream043(t *testing.T) {
	ctx := context.Background()

	t.Run("a request failure", func(t *testing.T) {
		w := newWorld(t, emulator.Config{})
		w.emu.InjectFault(emulator.Fault{Path: "/api/authorise", Reset: true, Count: 1})
		_, err := w.accessKey(t).GetToken(ctx)
		require.Equal(t, stackauth.CodeRequest, errCode(err))
		assert.True(t, strings.HasPrefix(err.Error(), "Request to the auth server failed: "), err.Error())
	})

	t.Run("an HTML error page from /oauth/token is summarised in one line", func(t *testing.T) {
		w := newWorld(t, emulator.Config{TokenTTL: 10 * time.Minute})
		tok := login(t, w)
		page := "<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n" +
			strings.Repeat("<p>padding</p>\n", 50) + "<hr><center>nginx</center>\n</body>\n</html>\n"
		w.emu.InjectFault(emulator.Fault{Path: "/oauth/token", Status: 502, Body: page, ContentType: "text/html", Count: 1})
		s, err := stackauth.NewDeviceSessionStrategy(w.emu.Region(), stackauth.CLIClientID, tok, w.opts()...)
		require.NoError(t, err)
		defer s.Close()
		w.clock.Advance(11 * time.Minute)
		_, err = s.GetToken(ctx)
		require.Equal(t, stackauth.CodeServer, errCode(err), "%v", err)
		assert.Equal(t, `Server error: 502: unparseable error body: an HTML page titled "502 Bad Gateway"`, err.Error())
	})

	t.Run("the error JSON says whether retrying may help", func(t *testing.T) {
		for _, c := range []struct {
			err  *stackauth.AuthError
			want string
		}{
			{stackauth.NewServerError("503: x"), `"retryable":true`},
			{stackauth.NewRequestError("x"), `"retryable":true`},
			{stackauth.ErrInvalidGrant, `"retryable":false`},
			{stackauth.NewUsageLimitExceeded(""), `"retryable":false`},
			{stackauth.NewWorkspaceMismatch("AAAAAAAAAAAAAAAA", "ZVATKW3VHMFG27DY"), `"retryable":false`},
		} {
			data, err := c.err.MarshalJSON()
			require.NoError(t, err)
			assert.Contains(t, string(data), c.want, c.err.Code)
		}
	})
}

// A key the token service refuses says so, in one line, with what to check; the server's
// JSON body is not the message.
func TestRefusedAccessKeySaysTheKeyWasRefused(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	key := w.emu.AccessKey()
	id, _, _ := strings.Cut(key, ".")
	s, err := stackauth.NewAccessKeyStrategy(w.emu.WorkspaceCRN(), id+".wrongsecretwrongsecret", w.opts()...)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.GetToken(context.Background())
	ae := stackauth.AsAuthError(err)
	assert.Equal(t, stackauth.CodeServer, ae.Code, "upstream's code is kept")
	assert.Contains(t, ae.Message, "refused the access key")
	assert.Contains(t, ae.Message, "HTTP 401")
	assert.NotContains(t, ae.Message, "{", "not the raw JSON body")
	assert.NotContains(t, ae.Message, "wrongsecret")
	assert.Contains(t, ae.Help, "CS_CLIENT_ACCESS_KEY")
	assert.False(t, ae.Retryable(), "the same key will be refused again")
}

// A timeout says what timed out: the request to the token service, and after how long.
func TestTimeoutSaysWhatTimedOut(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	w.emu.InjectFault(emulator.Fault{Path: "/api/authorise", Delay: 2 * time.Second, Count: 1})
	s, err := stackauth.NewAccessKeyStrategy(w.emu.WorkspaceCRN(), w.emu.AccessKey(),
		w.opts(stackauth.WithRefreshTimeout(200*time.Millisecond))...)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.GetToken(context.Background())
	require.Error(t, err)
	msg := stackauth.AsAuthError(err).Message
	assert.NotContains(t, msg, "context deadline exceeded")
	assert.Contains(t, msg, "timed out")
	assert.Contains(t, msg, "api/authorise")
}

// As upstream, an OIDC provider's empty JWT is sent and the server's answer reported.
func TestAnEmptyProviderJWTIsSentAndTheServersAnswerReported(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	s, err := stackauth.NewOidcFederationStrategy(w.emu.WorkspaceCRN(),
		func(context.Context) (stackauth.SecretToken, error) { return stackauth.NewSecretToken(""), nil }, w.opts()...)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.GetToken(context.Background())
	assert.Equal(t, stackauth.CodeServer, errCode(err), "%v", err)
	reqs := w.emu.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/api/authorise", reqs[0].Path)
	assert.Equal(t, []string{"oidcToken", "workspaceId"}, reqs[0].Keys)

	// A caller's empty JWT (what a binding passes on from its provider) takes the same path.
	s2, err := stackauth.NewOidcFederationStrategy(w.emu.WorkspaceCRN(), stackauth.NoOidcProvider, w.opts()...)
	require.NoError(t, err)
	defer s2.Close()
	_, err = s2.GetTokenForJWT(context.Background(), stackauth.NewSecretToken(""))
	assert.Equal(t, stackauth.CodeServer, errCode(err), "%v", err)
	reqs = w.emu.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "/api/authorise", reqs[1].Path)
	assert.Equal(t, []string{"oidcToken", "workspaceId"}, reqs[1].Keys)
}
