package stackauth

// docs/upstream.md 10.5 (auth_strategy_fn.rs), 10.9 (device_session_strategy.rs) and 10.10
// (access_key_strategy.rs).

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ---- 10.5 AuthStrategyFn ----

func TestAuthStrategyFn_ClosureRunsOnEachGetTokenCall(t *testing.T) {
	calls := 0
	var s AuthStrategy = NewAuthStrategyFn(func(context.Context) (ServiceToken, error) {
		tok := NewServiceToken(NewSecretToken(fmt.Sprintf("jwt-%d", calls)))
		calls++
		return tok, nil
	})
	first, err := s.GetToken(portCtx(t))
	require.NoError(t, err)
	second, err := s.GetToken(portCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "jwt-0", first.Token().Reveal())
	assert.Equal(t, "jwt-1", second.Token().Reveal(), "no caching: the closure runs every time")
	assert.Equal(t, 2, calls)
}

func TestAuthStrategyFn_ClosureErrorsPropagateUnchanged(t *testing.T) {
	want := newError(CodeAccessDenied, "")
	s := NewAuthStrategyFn(func(context.Context) (ServiceToken, error) { return ServiceToken{}, want })
	_, err := s.GetToken(portCtx(t))
	assert.Same(t, want, err)
	assert.ErrorIs(t, err, ErrAccessDenied)
}

func TestAuthStrategyFn_ReceivesTheCallersContext(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(portCtx(t), key{}, "marker")
	s := NewAuthStrategyFn(func(ctx context.Context) (ServiceToken, error) {
		assert.Equal(t, "marker", ctx.Value(key{}))
		return NewServiceToken(NewSecretToken("x")), nil
	})
	_, err := s.GetToken(ctx)
	require.NoError(t, err)
}

func TestStaticTokenStrategy_AlwaysReturnsItsToken(t *testing.T) {
	s := NewStaticTokenStrategy("static-token")
	for range 3 {
		tok, err := s.GetToken(portCtx(t))
		require.NoError(t, err)
		assert.Equal(t, "static-token", tok.Token().Reveal())
	}
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", s, s, s), "static-token")
}

// ---- 10.9 DeviceSessionStrategy ----

func TestDeviceSessionBuild_FromTokenDerivesCrnFromTheJWTWorkspaceClaim(t *testing.T) {
	fake := newFakeCTS(t)
	clock := testClock()
	tok := portSessionToken(t, clock, testWS, time.Hour)
	tok.Region, tok.ClientID = "", ""
	s, err := NewDeviceSessionStrategy(testRegion, CLIClientID, tok, portOpts(fake, clock)...)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	crn, ok := s.WorkspaceCrn()
	require.True(t, ok)
	assert.Equal(t, testCRN, crn.String())

	cur := s.current()
	require.NotNil(t, cur)
	assert.Equal(t, testRegion, cur.Region, "build stamps the region onto the token")
	assert.Equal(t, CLIClientID, cur.ClientID, "build stamps the client id onto the token")
	assert.Empty(t, tok.Region, "the caller's token is not modified")

	got, err := s.GetToken(portCtx(t))
	require.NoError(t, err)
	assert.Equal(t, tok.AccessToken.Reveal(), got.Token().Reveal(), "seeded with the token: no request")
	assert.Equal(t, 0, fake.count("/oauth/token"))
}

func TestDeviceSessionBuild_FromTokenSucceedsWithoutACrnWhenTheWorkspaceClaimIsAbsent(t *testing.T) {
	claims := ctsClaims(testWS, 1_700_003_600)
	delete(claims, "workspace")
	tok := &Token{AccessToken: NewSecretToken(makeJWT(t, claims)), RefreshToken: NewSecretToken("rt"),
		TokenType: "Bearer", ExpiresAt: 1_700_003_600}
	s, err := NewDeviceSessionStrategy(testRegion, CLIClientID, tok, WithBaseURL("http://127.0.0.1:1"), emptyEnv(), WithClock(testClock()))
	require.NoError(t, err)
	t.Cleanup(s.Close)
	_, ok := s.WorkspaceCrn()
	assert.False(t, ok)
}

func TestDeviceSessionBuild_RejectsAMissingTokenAndABadRegion(t *testing.T) {
	_, err := NewDeviceSessionStrategy(testRegion, CLIClientID, nil, emptyEnv())
	portRequireCode(t, err, CodeNotAuthenticated)

	tok := portSessionToken(t, testClock(), testWS, time.Hour)
	_, err = NewDeviceSessionStrategy("not-a-region", CLIClientID, tok, emptyEnv())
	portRequireCode(t, err, CodeInvalidRegion)
}

// ---- 10.10 AccessKeyStrategy ----

func portAccessKeyStrategy(t *testing.T, crn string, opts ...Option) *AccessKeyStrategy {
	t.Helper()
	s, err := NewAccessKeyStrategy(crn, testAccessKey, opts...)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// bindingStrategy is an access-key strategy for crn whose token service mints 15-minute
// tokens for workspace ws.
func bindingStrategy(t *testing.T, crn, ws string, more ...Option) (*fakeCTS, *ManualClock, *AccessKeyStrategy) {
	t.Helper()
	fake := newFakeCTS(t)
	clock := testClock()
	fake.handle("/api/authorise", authoriseOK(t, clock, ws, 15*time.Minute))
	return fake, clock, portAccessKeyStrategy(t, crn, portOpts(fake, clock, more...)...)
}

func TestAccessKeyWorkspaceBinding_ReturnsTokenWhenWorkspaceMatches(t *testing.T) {
	fake, _, s := bindingStrategy(t, testCRN, testWS)

	tok, err := s.GetToken(portCtx(t))
	require.NoError(t, err)
	portRequireWorkspace(t, tok, testWS)
	assert.Equal(t, 1, fake.count("/api/authorise"))
	assert.JSONEq(t, `{"accessKey":"CSAKkeyid01.secret-value-here"}`, fake.body("/api/authorise", 0), "audience omitted when unset")
}

func TestAccessKeyWorkspaceBinding_ErrorsWhenTokenWorkspaceDiffersFromCrn(t *testing.T) {
	_, _, s := bindingStrategy(t, testCRN, otherWS)

	_, err := s.GetToken(portCtx(t))
	ae := portRequireCode(t, err, CodeWorkspaceMismatch)
	assert.Equal(t, testWS, ae.Payload["expected"])
	assert.Equal(t, otherWS, ae.Payload["actual"])
}

func TestAccessKeyWorkspaceBinding_CheckRunsOnEveryCallIncludingCachedTokens(t *testing.T) {
	fake, _, s := bindingStrategy(t, testCRN, otherWS)

	for range 3 {
		_, err := s.GetToken(portCtx(t))
		portRequireCode(t, err, CodeWorkspaceMismatch)
	}
	assert.Equal(t, 1, fake.count("/api/authorise"), "the cached token is rejected again, not re-fetched")
}

func TestAccessKeyWorkspaceBinding_StoredTokenForTheWrongWorkspaceIsRejected(t *testing.T) {
	fake, clock, s := bindingStrategy(t, testCRN, testWS, WithStore(NewInMemoryTokenStore()))
	exp := clock.Now().Add(15 * time.Minute).Unix()
	// Poisoned under this credential's own scope.
	require.NoError(t, s.store.Save(portCtx(t), &Token{AccessToken: NewSecretToken(portJWT(t, otherWS, exp)),
		TokenType: "Bearer", ExpiresAt: uint64(exp)}))

	_, err := s.GetToken(portCtx(t))
	portRequireCode(t, err, CodeWorkspaceMismatch)
	assert.Equal(t, 0, fake.count("/api/authorise"), "a poisoned shared cache is rejected, not silently replaced")
}

func TestAccessKeyWorkspaceBinding_NonJWTTokenIsInvalidToken(t *testing.T) {
	fake := newFakeCTS(t)
	clock := testClock()
	fake.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"accessToken": "opaque-token", "expiry": clock.Now().Add(time.Hour).Unix()})
	})
	s := portAccessKeyStrategy(t, testCRN, portOpts(fake, clock)...)
	_, err := s.GetToken(portCtx(t))
	portRequireCode(t, err, CodeInvalidToken)
}

func TestAccessKeyWorkspaceBinding_CrnWithServiceNameIsAccepted(t *testing.T) {
	_, _, s := bindingStrategy(t, testCRN+":zerokms", testWS)
	assert.Equal(t, testCRN, s.WorkspaceCrn().String(), "the service name is ignored")
	_, err := s.GetToken(portCtx(t))
	require.NoError(t, err)
}

func TestAccessKeyWorkspaceBinding_BaseURLOverrideBeatsCsCtsHost(t *testing.T) {
	fake := newFakeCTS(t)
	clock := testClock()
	fake.handle("/api/authorise", authoriseOK(t, clock, testWS, 15*time.Minute))
	s := portAccessKeyStrategy(t, testCRN, WithBaseURL(fake.URL), WithClock(clock),
		envOf(map[string]string{"CS_CTS_HOST": portClosedURL(t)}))
	_, err := s.GetToken(portCtx(t))
	require.NoError(t, err)
	assert.Equal(t, 1, fake.count("/api/authorise"))
}

func TestAccessKeyWorkspaceBinding_CsCtsHostIsUsedWithoutAnOverride(t *testing.T) {
	fake := newFakeCTS(t)
	clock := testClock()
	fake.handle("/api/authorise", authoriseOK(t, clock, testWS, 15*time.Minute))
	s := portAccessKeyStrategy(t, testCRN, WithClock(clock), envOf(map[string]string{"CS_CTS_HOST": fake.URL}))
	_, err := s.GetToken(portCtx(t))
	require.NoError(t, err)
	assert.Equal(t, 1, fake.count("/api/authorise"))
}

func TestAccessKeyWorkspaceBinding_BaseURLFallsBackToRegionDiscovery(t *testing.T) {
	for name, env := range map[string]map[string]string{"unset": nil, "empty CS_CTS_HOST": {"CS_CTS_HOST": ""}} {
		t.Run(name, func(t *testing.T) {
			s := portAccessKeyStrategy(t, testCRN, envOf(env))
			r, ok := s.Engine.r.(*accessKeyRefresher)
			require.True(t, ok)
			assert.Equal(t, "https://ap-southeast-2.aws.cts.cipherstashmanaged.net/", r.cts.base.String())
		})
	}
}

func TestAccessKeyWorkspaceBinding_BuildErrors(t *testing.T) {
	_, err := NewAccessKeyStrategy(testCRN, testAccessKey, envOf(map[string]string{"CS_CTS_HOST": "not a url"}))
	portRequireCode(t, err, CodeInvalidURL)
	_, err = NewAccessKeyStrategy(testCRN, testAccessKey, WithBaseURL("::"), emptyEnv())
	portRequireCode(t, err, CodeInvalidURL)
	_, err = NewAccessKeyStrategy("crn:nowhere:"+testWS, testAccessKey, emptyEnv())
	portRequireCode(t, err, CodeInvalidCrn)
	_, err = NewAccessKeyStrategy(testCRN, "not-a-key", emptyEnv())
	portRequireCode(t, err, CodeInvalidAccessKey)
}
