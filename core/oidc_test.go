package stackauth

// docs/upstream.md 10.16, upstream oidc_refresher.rs, oidc_federation_strategy.rs and
// oidc_federation_strategy/cache.rs. Concurrency cases gate the fake exchange with
// channels and count requests exactly; nothing sleeps.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const portDigestVector = "256d04db4e5e4ac308751ed0885b722b758630567c53a7125ed9fbd068e5c3f6"

// portJWTKey carries the calling user's provider JWT in a context.
type portJWTKey struct{}

func portUser(t testing.TB, jwt string) context.Context {
	return context.WithValue(portCtx(t), portJWTKey{}, jwt)
}

var errPortNoUser = errors.New("provider: no signed-in user")

// portOIDCEnv is a fake CTS plus a provider that returns the caller's JWT (from the
// context) and counts its calls.
type portOIDCEnv struct {
	fake          *fakeCTS
	clock         *ManualClock
	providerCalls atomic.Int32
}

func newPortOIDCEnv(t *testing.T) *portOIDCEnv {
	e := &portOIDCEnv{fake: newFakeCTS(t), clock: testClock()}
	e.fake.handle("/api/authorise", portFederateOK(t, e.clock, testWS, 15*time.Minute))
	return e
}

func (e *portOIDCEnv) provider(ctx context.Context) (SecretToken, error) {
	e.providerCalls.Add(1)
	jwt, _ := ctx.Value(portJWTKey{}).(string)
	if jwt == "" {
		return SecretToken{}, errPortNoUser
	}
	return NewSecretToken(jwt), nil
}

func (e *portOIDCEnv) strategy(t *testing.T, opts ...Option) *OidcFederationStrategy {
	t.Helper()
	s, err := NewOidcFederationStrategy(testCRN, e.provider, portOpts(e.fake, e.clock, opts...)...)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// newPortOIDC is an OIDC strategy whose exchanges succeed at once.
func newPortOIDC(t *testing.T) (*portOIDCEnv, *OidcFederationStrategy) {
	e := newPortOIDCEnv(t)
	return e, e.strategy(t)
}

// portGetOK is s.GetToken for the user signed in with jwt; it must succeed.
func portGetOK(t *testing.T, s *OidcFederationStrategy, jwt string) ServiceToken {
	t.Helper()
	tok, err := s.GetToken(portUser(t, jwt))
	require.NoError(t, err)
	return tok
}

// newPortGatedOIDC is an OIDC strategy whose exchanges succeed, each once gate opens.
func newPortGatedOIDC(t *testing.T) (*portOIDCEnv, *portGate, *OidcFederationStrategy) {
	e := newPortOIDCEnv(t)
	gate := newPortGate(t)
	e.fake.handle("/api/authorise", gate.wrap(portFederateOK(t, e.clock, testWS, 15*time.Minute)))
	return e, gate, e.strategy(t)
}

func (e *portOIDCEnv) exchanges() int { return e.fake.count("/api/authorise") }

// portFederateOK answers /api/authorise with a token for ws; each answer has its own
// subject "CS|exchange-<n>" so tests can tell tokens apart.
func portFederateOK(t testing.TB, clock Clock, ws string, ttl time.Duration) http.HandlerFunc {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1) - 1
		exp := clock.Now().Add(ttl).Unix()
		claims := ctsClaims(ws, exp)
		claims["sub"] = fmt.Sprintf("CS|exchange-%d", i)
		writeJSON(w, 200, map[string]any{"accessToken": makeJWT(t, claims), "expiry": exp})
	}
}

func portSubject(t *testing.T, tok ServiceToken) string {
	t.Helper()
	sub, err := tok.Subject()
	require.NoError(t, err)
	return sub
}

// portGate holds requests inside the handler until released.
type portGate struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func newPortGate(t *testing.T) *portGate {
	g := &portGate{entered: make(chan struct{}, 64), release: make(chan struct{})}
	t.Cleanup(g.open) // registered after the fake: runs before the fake's Close
	return g
}

func (g *portGate) open() { g.once.Do(func() { close(g.release) }) }

func (g *portGate) wrap(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		g.entered <- struct{}{}
		select {
		case <-g.release:
			h(w, r)
		case <-r.Context().Done():
		}
	}
}

func portRecv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for an event")
		var zero T
		return zero
	}
}

// portSpinUntil yields until cond holds (no sleeping); it fails after 5 s.
func portSpinUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		runtime.Gosched()
	}
}

// portOIDCState is a snapshot of the strategy's engine bookkeeping.
type portOIDCState struct {
	cached  int
	pending map[string]int // digest → callers sharing the pending engine
	denied  bool
}

func portState(s *OidcFederationStrategy) portOIDCState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := portOIDCState{cached: s.cache.len(), pending: map[string]int{}, denied: s.denial != nil}
	for d, p := range s.pending {
		st.pending[d] = p.refs
	}
	return st
}

type portResult struct {
	tok ServiceToken
	err error
}

func portGetAsync(ctx context.Context, s *OidcFederationStrategy) <-chan portResult {
	ch := make(chan portResult, 1)
	go func() {
		tok, err := s.GetToken(ctx)
		ch <- portResult{tok, err}
	}()
	return ch
}

// ---- oidc_refresher.rs ----

func TestOIDCRefresher_DigestHexIsSha256OfTheWholeJWT(t *testing.T) {
	assert.Equal(t, portDigestVector, JWTDigest("header.payload.signature"))
}

func TestOIDCRefresher_DifferentJWTsHaveDifferentDigests(t *testing.T) {
	a, b := JWTDigest("header.payload.signature"), JWTDigest("header.payload.signaturf")
	assert.NotEqual(t, a, b)
	assert.Regexp(t, `^[0-9a-f]{64}$`, a)
	assert.Regexp(t, `^[0-9a-f]{64}$`, b)
}

func TestOIDCRefresher_RequestSerialization(t *testing.T) {
	data, err := json.Marshal(oidcBody{OidcToken: NewSecretToken("provider.jwt.sig"), WorkspaceID: testWS})
	require.NoError(t, err)
	assert.Equal(t, `{"oidcToken":"provider.jwt.sig","workspaceId":"ZVATKW3VHMFG27DY"}`, string(data))
}

func TestOIDCRefresher_FederateSendsTheGivenJWTAndLeavesTheTokenUnstamped(t *testing.T) {
	e := newPortOIDCEnv(t)
	tok, err := portCTS(t, e.fake.URL, e.clock).authorise(portCtx(t), oidcBody{OidcToken: NewSecretToken("provider.jwt.sig"), WorkspaceID: testWS})
	require.NoError(t, err)
	assert.Equal(t, `{"oidcToken":"provider.jwt.sig","workspaceId":"ZVATKW3VHMFG27DY"}`, e.fake.body("/api/authorise", 0))
	portCheckPOST(t, e.fake, "/api/authorise", "application/json")
	assert.Empty(t, tok.FederatedFrom)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.True(t, tok.RefreshToken.IsEmpty())
}

func TestOIDCRefresher_RefreshFederatesTheHeldJWTAndStampsItsDigest(t *testing.T) {
	e := newPortOIDCEnv(t)
	r := &jwtRefresher{cts: portCTS(t, e.fake.URL, e.clock), jwt: NewSecretToken("header.payload.signature"),
		digest: JWTDigest("header.payload.signature"), workspaceID: testWS}
	assert.True(t, r.canRefresh(nil), "federation can always authenticate")
	tok, err := r.refresh(portCtx(t), nil)
	require.NoError(t, err)
	assert.Equal(t, portDigestVector, tok.FederatedFrom)
	assert.JSONEq(t, `{"oidcToken":"header.payload.signature","workspaceId":"ZVATKW3VHMFG27DY"}`, e.fake.body("/api/authorise", 0))
}

func TestOIDCRefresher_ExpiryIsAbsoluteEpochNotRelative(t *testing.T) {
	e := newPortOIDCEnv(t)
	expiry := e.clock.Now().Add(900 * time.Second).Unix()
	e.fake.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"accessToken": portJWT(t, testWS, expiry), "expiry": expiry})
	})
	tok, err := e.strategy(t).GetToken(portUser(t, "a.jwt.sig"))
	require.NoError(t, err)
	now := uint64(e.clock.Now().Unix())
	assert.Equal(t, uint64(expiry), tok.ExpiresAt())
	assert.LessOrEqual(t, tok.ExpiresAt()-now, uint64(1000), "not now + expiry")
}

func TestOIDCRefresher_InitialFederation(t *testing.T) {
	e, s := newPortOIDC(t)
	tok := portGetOK(t, s, "a.jwt.sig")
	assert.Equal(t, 1, e.exchanges())
	portRequireWorkspace(t, tok, testWS)
}

func TestOIDCRefresher_CachesTokenAfterInitialFederation(t *testing.T) {
	e, s := newPortOIDC(t)
	first := portGetOK(t, s, "a.jwt.sig")
	e.fake.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) { writeText(w, 500, "down") })
	second := portGetOK(t, s, "a.jwt.sig")
	assert.Equal(t, first.Token().Reveal(), second.Token().Reveal())
	assert.Equal(t, 1, e.exchanges())
}

func TestOIDCRefresher_UnderAutoRefreshTheSameJWTIsFederatedAgainOnExpiry(t *testing.T) {
	e, s := newPortOIDC(t)
	first := portGetOK(t, s, "a.jwt.sig")
	e.clock.Advance(16 * time.Minute)
	second := portGetOK(t, s, "a.jwt.sig")
	assert.Equal(t, 2, e.exchanges())
	assert.NotEqual(t, first.Token().Reveal(), second.Token().Reveal(), "re-federated on expiry")
	assert.Equal(t, e.fake.body("/api/authorise", 0), e.fake.body("/api/authorise", 1), "the same JWT is federated again")
}

func TestOIDCRefresher_ServerRejectionPropagates(t *testing.T) {
	e := newPortOIDCEnv(t)
	e.fake.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) { writeText(w, 401, "invalid oidc token") })
	_, err := e.strategy(t).GetToken(portUser(t, "a.jwt.sig"))
	ae := portRequireCode(t, err, CodeServer)
	assert.Equal(t, "Server error: the token service refused the OIDC token (HTTP 401): invalid oidc token", ae.Error())
}

func TestOIDCRefresher_UsageLimit402IsTypedNotServerError(t *testing.T) {
	e := newPortOIDCEnv(t)
	e.fake.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 402, map[string]any{"error": "usage_limit_exceeded", "error_description": "Over the limit"})
	})
	_, err := e.strategy(t).GetToken(portUser(t, "a.jwt.sig"))
	ae := portRequireCode(t, err, CodeUsageLimitExceeded)
	assert.Equal(t, "Over the limit", ae.Error())
}

func TestOIDCRefresher_ProviderFailurePropagates(t *testing.T) {
	e := newPortOIDCEnv(t)
	_, err := e.strategy(t).GetToken(portCtx(t)) // no signed-in user
	assert.Same(t, errPortNoUser, err, "the provider's error is returned verbatim")
	assert.Equal(t, 0, e.exchanges())
}

func TestOIDCRefresher_LoadsTokenFromStoreOnColdStartNoHTTP(t *testing.T) {
	e := newPortOIDCEnv(t)
	store := NewInMemoryTokenStore()
	exp := e.clock.Now().Add(15 * time.Minute).Unix()
	stored := &Token{AccessToken: NewSecretToken(portJWT(t, testWS, exp)), TokenType: "Bearer", ExpiresAt: uint64(exp),
		FederatedFrom: JWTDigest("a.jwt.sig")}
	require.NoError(t, portJWTScope(store, "a.jwt.sig").Save(portCtx(t), stored))
	tok, err := e.strategy(t, WithStore(store)).GetToken(portUser(t, "a.jwt.sig"))
	require.NoError(t, err)
	assert.Equal(t, stored.AccessToken.Reveal(), tok.Token().Reveal())
	assert.Equal(t, 0, e.exchanges())
}

func TestOIDCRefresher_PersistsTokenToStoreAfterFederation(t *testing.T) {
	e := newPortOIDCEnv(t)
	store := NewInMemoryTokenStore()
	tok, err := e.strategy(t, WithStore(store)).GetToken(portUser(t, "a.jwt.sig"))
	require.NoError(t, err)
	require.NoError(t, Flush(portCtx(t))) // the save follows the wake-up (docs/architecture.md D3)
	saved, err := portJWTScope(store, "a.jwt.sig").Load(portCtx(t))
	require.NoError(t, err)
	require.NotNil(t, saved)
	assert.Equal(t, tok.Token().Reveal(), saved.AccessToken.Reveal())
	assert.Equal(t, JWTDigest("a.jwt.sig"), saved.FederatedFrom, "stamped with its JWT digest")
}

// Close stops a cached token's background refresh too: a refresh in flight when the
// strategy is closed ends without installing (or saving) its answer.
func TestOIDCStrategy_CloseStopsTheRefreshOfACachedToken(t *testing.T) {
	e := newPortOIDCEnv(t)
	gate := newPortGate(t)
	ended := make(chan Event, 4)
	s := e.strategy(t, WithEvents(func(ev Event) {
		if ev.Reason == ReasonStale && (ev.Kind == RefreshSucceeded || ev.Kind == RefreshFailed) {
			ended <- ev
		}
	}))
	portGetOK(t, s, "a.jwt.sig")
	e.fake.handle("/api/authorise", gate.wrap(portFederateOK(t, e.clock, testWS, 15*time.Minute)))
	e.clock.Advance(14 * time.Minute) // inside the refresh window, still usable
	_, err := s.GetToken(portUser(t, "a.jwt.sig"))
	require.NoError(t, err)
	portRecv(t, gate.entered) // the background refresh is at the server
	s.Close()
	gate.open()
	ev := portRecv(t, ended)
	assert.Equal(t, RefreshFailed, ev.Kind, "the refresh of a closed strategy is cancelled")
}

// ---- oidc_federation_strategy.rs: construction ----

func TestOIDCStrategy_BaseURLOption(t *testing.T) {
	p := func(context.Context) (SecretToken, error) { return NewSecretToken("x"), nil }
	t.Run("absent is a no-op", func(t *testing.T) {
		s, err := NewOidcFederationStrategy(testCRN, p, emptyEnv())
		require.NoError(t, err)
		assert.Equal(t, "https://ap-southeast-2.aws.cts.cipherstashmanaged.net/", s.cts.base.String())
	})
	t.Run("empty string is a no-op", func(t *testing.T) {
		s, err := NewOidcFederationStrategy(testCRN, p, WithBaseURL(""), envOf(map[string]string{"CS_CTS_HOST": "http://cts.local:8080"}))
		require.NoError(t, err)
		assert.Equal(t, "http://cts.local:8080/", s.cts.base.String())
	})
	t.Run("valid url sets the override", func(t *testing.T) {
		s, err := NewOidcFederationStrategy(testCRN, p, WithBaseURL("http://localhost:3001/api"), emptyEnv())
		require.NoError(t, err)
		assert.Equal(t, "http://localhost:3001/api/", s.cts.base.String())
	})
	t.Run("malformed url is invalid url", func(t *testing.T) {
		_, err := NewOidcFederationStrategy(testCRN, p, WithBaseURL("::not a url"), emptyEnv())
		portRequireCode(t, err, CodeInvalidURL)
	})
}

func TestOIDCStrategy_TheDefaultCacheCapacityIsTheDocumentedOne(t *testing.T) {
	assert.Equal(t, 1024, DefaultOidcCacheCapacity)
	s, err := NewOidcFederationStrategy(testCRN, func(context.Context) (SecretToken, error) { return SecretToken{}, nil }, emptyEnv())
	require.NoError(t, err)
	assert.Equal(t, 1024, s.cache.capacity)
}

func TestOIDCStrategy_BaseURLOverrideTakesPrecedenceOverCsCtsHost(t *testing.T) {
	e := newPortOIDCEnv(t)
	s, err := NewOidcFederationStrategy(testCRN, e.provider, WithBaseURL(e.fake.URL), WithClock(e.clock),
		envOf(map[string]string{"CS_CTS_HOST": portClosedURL(t)}))
	require.NoError(t, err)
	t.Cleanup(s.Close)
	_, err = s.GetToken(portUser(t, "a.jwt.sig"))
	require.NoError(t, err)
	assert.Equal(t, 1, e.exchanges())
}

func TestOIDCStrategy_ConstructionErrors(t *testing.T) {
	_, err := NewOidcFederationStrategy("not-a-crn", func(context.Context) (SecretToken, error) { return SecretToken{}, nil }, emptyEnv())
	portRequireCode(t, err, CodeInvalidCrn)
	_, err = NewOidcFederationStrategy(testCRN, nil, emptyEnv())
	require.Error(t, err)
}

// ---- workspace verification ----

func TestOIDCStrategy_ReturnsTokenWhenWorkspaceMatches(t *testing.T) {
	_, s := newPortOIDC(t)
	portRequireWorkspace(t, portGetOK(t, s, "a.jwt.sig"), testWS)
}

func TestOIDCStrategy_AcceptsCrnWithServiceName(t *testing.T) {
	e := newPortOIDCEnv(t)
	s, err := NewOidcFederationStrategy(testCRN+":zerokms", e.provider, portOpts(e.fake, e.clock)...)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	_, err = s.GetToken(portUser(t, "a.jwt.sig"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"oidcToken":"a.jwt.sig","workspaceId":"ZVATKW3VHMFG27DY"}`, e.fake.body("/api/authorise", 0))
}

func TestOIDCStrategy_ErrorsWhenTokenWorkspaceDiffers(t *testing.T) {
	e := newPortOIDCEnv(t)
	e.fake.handle("/api/authorise", portFederateOK(t, e.clock, otherWS, 15*time.Minute))
	_, err := e.strategy(t).GetToken(portUser(t, "a.jwt.sig"))
	ae := portRequireCode(t, err, CodeWorkspaceMismatch)
	assert.Equal(t, map[string]any{"expected": testWS, "actual": otherWS}, ae.Payload)
}

func TestOIDCStrategy_ErrorsWithInvalidTokenWhenJWTMalformed(t *testing.T) {
	e := newPortOIDCEnv(t)
	e.fake.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"accessToken": "not-a-jwt", "expiry": e.clock.Now().Add(time.Hour).Unix()})
	})
	_, err := e.strategy(t).GetToken(portUser(t, "a.jwt.sig"))
	portRequireCode(t, err, CodeInvalidToken)
}

func TestOIDCStrategy_ErrorsOnEachSubsequentGetTokenCall(t *testing.T) {
	e := newPortOIDCEnv(t)
	e.fake.handle("/api/authorise", portFederateOK(t, e.clock, otherWS, 15*time.Minute))
	s := e.strategy(t)
	for range 3 {
		_, err := s.GetToken(portUser(t, "a.jwt.sig"))
		portRequireCode(t, err, CodeWorkspaceMismatch)
	}
	assert.Equal(t, 1, e.exchanges())
}

func TestOIDCStrategy_RejectsStoredTokenForDifferentWorkspace(t *testing.T) {
	e := newPortOIDCEnv(t)
	store := NewInMemoryTokenStore()
	exp := e.clock.Now().Add(15 * time.Minute).Unix()
	require.NoError(t, portJWTScope(store, "a.jwt.sig").Save(portCtx(t), &Token{AccessToken: NewSecretToken(portJWT(t, otherWS, exp)),
		TokenType: "Bearer", ExpiresAt: uint64(exp), FederatedFrom: JWTDigest("a.jwt.sig")}))
	_, err := e.strategy(t, WithStore(store)).GetToken(portUser(t, "a.jwt.sig"))
	portRequireCode(t, err, CodeWorkspaceMismatch)
	assert.Equal(t, 0, e.exchanges())
}

// ---- per-JWT engines ----

func TestOIDCStrategy_ASecondUserIsNeverServedTheFirstUsersToken(t *testing.T) {
	e, s := newPortOIDC(t)
	a := portGetOK(t, s, "user-a.jwt.sig")
	b := portGetOK(t, s, "user-b.jwt.sig")
	assert.NotEqual(t, a.Token().Reveal(), b.Token().Reveal())
	assert.Equal(t, 2, e.exchanges())
	assert.Contains(t, e.fake.body("/api/authorise", 0), "user-a.jwt.sig")
	assert.Contains(t, e.fake.body("/api/authorise", 1), "user-b.jwt.sig")
}

func TestOIDCStrategy_AJWTWithTheSameClaimsButOtherBytesIsNotServedTheCachedToken(t *testing.T) {
	e, s := newPortOIDC(t)
	claims := map[string]any{"iss": "https://idp.example.com/", "sub": "user-1", "aud": "app", "exp": 1_700_003_600}
	genuine := makeJWT(t, claims)
	forged := genuine[:len(genuine)-len("c2lnbmF0dXJl")] + "Zm9yZ2VkLXNpZw"
	a, err := s.GetToken(portUser(t, genuine))
	require.NoError(t, err)
	b, err := s.GetToken(portUser(t, forged))
	require.NoError(t, err)
	assert.NotEqual(t, a.Token().Reveal(), b.Token().Reveal())
	assert.Equal(t, 2, e.exchanges(), "the cache is keyed on the JWT bytes, never its claims")
}

func TestOIDCStrategy_EachJWTGetsItsOwnTokenAndTheProviderIsAskedEveryTime(t *testing.T) {
	e, s := newPortOIDC(t)
	seen := map[string]string{}
	for _, jwt := range []string{"a.jwt.sig", "b.jwt.sig", "a.jwt.sig", "b.jwt.sig"} {
		tok, err := s.GetToken(portUser(t, jwt))
		require.NoError(t, err)
		if prev, ok := seen[jwt]; ok {
			assert.Equal(t, prev, portSubject(t, tok), "the same JWT is served its own cached token")
		}
		seen[jwt] = portSubject(t, tok)
	}
	assert.NotEqual(t, seen["a.jwt.sig"], seen["b.jwt.sig"])
	assert.Equal(t, 2, e.exchanges())
	assert.Equal(t, int32(4), e.providerCalls.Load())
}

func TestOIDCStrategy_AProviderFailureIsReturnedBeforeAnyExchange(t *testing.T) {
	e, s := newPortOIDC(t)
	_, err := s.GetToken(portCtx(t))
	assert.ErrorIs(t, err, errPortNoUser)
	assert.Equal(t, 0, e.exchanges())
	assert.Equal(t, portOIDCState{pending: map[string]int{}}, portState(s))
}

func TestOIDCStrategy_TheCacheEvictsTheLeastRecentlyUsedJWT(t *testing.T) {
	e := newPortOIDCEnv(t)
	s := e.strategy(t, WithOidcCacheCapacity(2))
	for _, jwt := range []string{"a.jwt.sig", "b.jwt.sig", "a.jwt.sig", "c.jwt.sig"} {
		_, err := s.GetToken(portUser(t, jwt))
		require.NoError(t, err)
	}
	require.Equal(t, 3, e.exchanges())
	portGetOK(t, s, "a.jwt.sig")
	assert.Equal(t, 3, e.exchanges(), "A was used recently and survived")
	_, err := s.GetToken(portUser(t, "b.jwt.sig"))
	require.NoError(t, err)
	assert.Equal(t, 4, e.exchanges(), "B was least recently used and was evicted")
	assert.Equal(t, 2, portState(s).cached)
}

func TestOIDCStrategy_AZeroCapacityCacheExchangesOnEveryCall(t *testing.T) {
	e := newPortOIDCEnv(t)
	s := e.strategy(t, WithOidcCacheCapacity(0))
	for range 3 {
		portGetOK(t, s, "a.jwt.sig")
	}
	assert.Equal(t, 3, e.exchanges())
	assert.Equal(t, portOIDCState{pending: map[string]int{}}, portState(s))
}

// ---- the bound token store ----

// portJWTScope is the view of store an OIDC strategy on testWS uses for jwt.
func portJWTScope(store TokenStore, jwt string) TokenStore {
	return bindStore(store, oidcScope(testWS, JWTDigest(jwt)), []byte(jwt))
}

func portStampedToken(t *testing.T, clock Clock, ws, jwt string, ttl time.Duration) *Token {
	exp := clock.Now().Add(ttl).Unix()
	return &Token{AccessToken: NewSecretToken(portJWT(t, ws, exp)), TokenType: "Bearer", ExpiresAt: uint64(exp),
		FederatedFrom: JWTDigest(jwt)}
}

func TestOIDCStrategy_AFederatedTokenIsStoredStampedWithItsJWTDigest(t *testing.T) {
	e := newPortOIDCEnv(t)
	store := NewInMemoryTokenStore()
	_, err := e.strategy(t, WithStore(store)).GetToken(portUser(t, "header.payload.signature"))
	require.NoError(t, err)
	require.NoError(t, Flush(portCtx(t)))
	saved, err := portJWTScope(store, "header.payload.signature").Load(portCtx(t))
	require.NoError(t, err)
	require.NotNil(t, saved)
	assert.Equal(t, portDigestVector, saved.FederatedFrom)
}

// A stored token is served only to the JWT it was federated from (its scope and its
// FederatedFrom), and only while it is fresh; anything else is a cache miss: one exchange.
func TestOIDCStrategy_StoredTokens(t *testing.T) {
	for _, tc := range []struct {
		name   string
		from   string // the JWT the stored token was federated from
		scoped bool   // saved under that JWT's scope (false: as an older version saved it)
		ttl    time.Duration
		served bool
	}{
		{"AStoredTokenIsServedToTheJWTItWasFederatedFrom", "a.jwt.sig", true, 15 * time.Minute, true},
		{"AStoredTokenFromAnotherJWTIsACacheMiss", "b.jwt.sig", true, 15 * time.Minute, false},
		{"AnUnscopedStoredTokenIsACacheMiss", "a.jwt.sig", false, 15 * time.Minute, false},
		{"AnExpiredStoredTokenIsReFederated", "a.jwt.sig", true, -time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPortOIDCEnv(t)
			store := NewInMemoryTokenStore()
			stored := portStampedToken(t, e.clock, testWS, tc.from, tc.ttl)
			saveTo := TokenStore(store)
			if tc.scoped {
				saveTo = portJWTScope(store, tc.from)
			}
			require.NoError(t, saveTo.Save(portCtx(t), stored))
			tok, err := e.strategy(t, WithStore(store)).GetToken(portUser(t, "a.jwt.sig"))
			require.NoError(t, err)
			if tc.served {
				assert.Equal(t, stored.AccessToken.Reveal(), tok.Token().Reveal())
				assert.Equal(t, 0, e.exchanges())
				return
			}
			assert.NotEqual(t, stored.AccessToken.Reveal(), tok.Token().Reveal())
			assert.Equal(t, 1, e.exchanges())
			require.NoError(t, Flush(portCtx(t)))
			saved, err := portJWTScope(store, "a.jwt.sig").Load(portCtx(t))
			require.NoError(t, err)
			require.NotNil(t, saved)
			assert.Equal(t, JWTDigest("a.jwt.sig"), saved.FederatedFrom, "the fresh exchange saved its own")
		})
	}
}

// ---- concurrency and failure bookkeeping ----

func TestOIDCStrategy_ConcurrentFirstCallsForOneJWTShareOneExchange(t *testing.T) {
	const callers = 8
	e, gate, s := newPortGatedOIDC(t)
	digest := JWTDigest("a.jwt.sig")

	results := make([]<-chan portResult, callers)
	for i := range results {
		results[i] = portGetAsync(portUser(t, "a.jwt.sig"), s)
	}
	portRecv(t, gate.entered)
	portSpinUntil(t, func() bool { return portState(s).pending[digest] == callers })
	gate.open()

	var first string
	for _, ch := range results {
		r := portRecv(t, ch)
		require.NoError(t, r.err)
		if first == "" {
			first = r.tok.Token().Reveal()
		}
		assert.Equal(t, first, r.tok.Token().Reveal())
	}
	assert.Equal(t, 1, e.exchanges())
	assert.Equal(t, portOIDCState{cached: 1, pending: map[string]int{}}, portState(s))
}

func TestOIDCStrategy_AnEngineIsPendingUntilItsFirstExchangeAnswers(t *testing.T) {
	_, gate, s := newPortGatedOIDC(t)

	res := portGetAsync(portUser(t, "a.jwt.sig"), s)
	portRecv(t, gate.entered)
	assert.Equal(t, portOIDCState{pending: map[string]int{JWTDigest("a.jwt.sig"): 1}}, portState(s),
		"pending, not cached, while the exchange is in flight")
	gate.open()
	require.NoError(t, portRecv(t, res).err)
	assert.Equal(t, portOIDCState{cached: 1, pending: map[string]int{}}, portState(s))
}

func TestOIDCStrategy_ConcurrentFirstCallsForTwoJWTsDoNotShareAnEngine(t *testing.T) {
	e, gate, s := newPortGatedOIDC(t)

	resA := portGetAsync(portUser(t, "a.jwt.sig"), s)
	resB := portGetAsync(portUser(t, "b.jwt.sig"), s)
	portRecv(t, gate.entered)
	portRecv(t, gate.entered)
	st := portState(s)
	assert.Equal(t, map[string]int{JWTDigest("a.jwt.sig"): 1, JWTDigest("b.jwt.sig"): 1}, st.pending)
	s.mu.Lock()
	assert.NotSame(t, s.pending[JWTDigest("a.jwt.sig")].eng, s.pending[JWTDigest("b.jwt.sig")].eng)
	s.mu.Unlock()
	assert.Equal(t, 2, e.fake.peakConcurrency(), "both exchanges were in flight at once")
	gate.open()

	a, b := portRecv(t, resA), portRecv(t, resB)
	require.NoError(t, a.err)
	require.NoError(t, b.err)
	assert.NotEqual(t, a.tok.Token().Reveal(), b.tok.Token().Reveal())
	assert.Equal(t, 2, e.exchanges())
	assert.ElementsMatch(t,
		[]string{`{"oidcToken":"a.jwt.sig","workspaceId":"ZVATKW3VHMFG27DY"}`, `{"oidcToken":"b.jwt.sig","workspaceId":"ZVATKW3VHMFG27DY"}`},
		[]string{e.fake.body("/api/authorise", 0), e.fake.body("/api/authorise", 1)})
}

func TestOIDCStrategy_ACancelledFirstCallLeavesNothingPending(t *testing.T) {
	e, gate, s := newPortGatedOIDC(t)

	ctx, cancel := context.WithCancel(portUser(t, "a.jwt.sig"))
	res := portGetAsync(ctx, s)
	portRecv(t, gate.entered)
	cancel()
	r := portRecv(t, res)
	require.Error(t, r.err)
	assert.ErrorIs(t, r.err, context.Canceled)
	assert.Equal(t, portOIDCState{pending: map[string]int{}}, portState(s), "nothing pending, nothing cached")

	gate.open()
	tok, err := s.GetToken(portUser(t, "a.jwt.sig"))
	require.NoError(t, err, "a later call starts afresh")
	assert.NotEmpty(t, tok.Token().Reveal())
	assert.Equal(t, 2, e.exchanges())
}

func TestOIDCStrategy_ASurvivorOfACancelledSiblingStillCachesItsToken(t *testing.T) {
	e, gate, s := newPortGatedOIDC(t)
	digest := JWTDigest("a.jwt.sig")

	ctx, cancel := context.WithCancel(portUser(t, "a.jwt.sig"))
	cancelled := portGetAsync(ctx, s)
	survivor := portGetAsync(portUser(t, "a.jwt.sig"), s)
	portRecv(t, gate.entered)
	portSpinUntil(t, func() bool { return portState(s).pending[digest] == 2 })

	cancel()
	require.ErrorIs(t, portRecv(t, cancelled).err, context.Canceled)
	assert.Equal(t, map[string]int{digest: 1}, portState(s).pending, "the survivor keeps the engine pending")

	gate.open()
	r := portRecv(t, survivor)
	require.NoError(t, r.err)
	assert.Equal(t, portOIDCState{cached: 1, pending: map[string]int{}}, portState(s))
	again := portGetOK(t, s, "a.jwt.sig")
	assert.Equal(t, r.tok.Token().Reveal(), again.Token().Reveal())
	assert.Equal(t, 1, e.exchanges())
}

func TestOIDCStrategy_ARefusedExchangeTakesNoSlotAndIsRetried(t *testing.T) {
	e := newPortOIDCEnv(t)
	ok := portFederateOK(t, e.clock, testWS, 15*time.Minute)
	e.fake.handle("/api/authorise", portScript(func(w http.ResponseWriter, r *http.Request) { writeText(w, 401, "no") }, ok))
	s := e.strategy(t)

	_, err := s.GetToken(portUser(t, "a.jwt.sig"))
	portRequireCode(t, err, CodeServer)
	assert.Equal(t, portOIDCState{pending: map[string]int{}}, portState(s))

	_, err = s.GetToken(portUser(t, "a.jwt.sig"))
	require.NoError(t, err)
	assert.Equal(t, 2, e.exchanges())
	assert.Equal(t, 1, portState(s).cached)
}

func portUsageLimit(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 402, map[string]any{"error": "access_denied", "cs_code": "USAGE_LIMIT_EXCEEDED", "error_description": "Over the limit"})
}

func TestOIDCStrategy_AnAccountRefusalIsRememberedAcrossJWTsWithoutAnEngine(t *testing.T) {
	e := newPortOIDCEnv(t)
	e.fake.handle("/api/authorise", portUsageLimit)
	s := e.strategy(t)

	_, err := s.GetToken(portUser(t, "a.jwt.sig"))
	portRequireCode(t, err, CodeUsageLimitExceeded)
	_, err = s.GetToken(portUser(t, "b.jwt.sig"))
	ae := portRequireCode(t, err, CodeUsageLimitExceeded)
	assert.Equal(t, "Over the limit", ae.Error())
	assert.Equal(t, 1, e.exchanges(), "the second JWT is answered from memory")
	assert.Equal(t, int32(2), e.providerCalls.Load(), "the provider is still asked")
	assert.Equal(t, portOIDCState{pending: map[string]int{}, denied: true}, portState(s), "no engine was created")
}

func TestOIDCStrategy_ARememberedRefusalDoesNotBlockACachedUser(t *testing.T) {
	e, s := newPortOIDC(t)
	a := portGetOK(t, s, "a.jwt.sig")

	e.fake.handle("/api/authorise", portUsageLimit)
	_, err := s.GetToken(portUser(t, "b.jwt.sig"))
	portRequireCode(t, err, CodeUsageLimitExceeded)

	again := portGetOK(t, s, "a.jwt.sig")
	assert.Equal(t, a.Token().Reveal(), again.Token().Reveal())
	assert.Equal(t, 2, e.exchanges())
}

func TestOIDCStrategy_ARememberedRefusalExpiresAfterItsWindow(t *testing.T) {
	e := newPortOIDCEnv(t)
	ok := portFederateOK(t, e.clock, testWS, 15*time.Minute)
	e.fake.handle("/api/authorise", portUsageLimit)
	s := e.strategy(t)
	_, err := s.GetToken(portUser(t, "a.jwt.sig"))
	portRequireCode(t, err, CodeUsageLimitExceeded)

	e.fake.handle("/api/authorise", ok)
	e.clock.Advance(DenialTTL - time.Second)
	_, err = s.GetToken(portUser(t, "b.jwt.sig"))
	portRequireCode(t, err, CodeUsageLimitExceeded)
	assert.Equal(t, 1, e.exchanges(), "still inside the window")

	e.clock.Advance(2 * time.Second)
	_, err = s.GetToken(portUser(t, "b.jwt.sig"))
	require.NoError(t, err, "the server is asked again once the window has passed")
	assert.Equal(t, 2, e.exchanges())
}

func TestOIDCStrategy_ACredentialRefusalIsNotRememberedForOtherJWTs(t *testing.T) {
	e := newPortOIDCEnv(t)
	e.fake.handle("/api/authorise", portScript(func(w http.ResponseWriter, r *http.Request) { writeText(w, 401, "bad jwt") },
		portFederateOK(t, e.clock, testWS, 15*time.Minute)))
	s := e.strategy(t)
	_, err := s.GetToken(portUser(t, "a.jwt.sig"))
	portRequireCode(t, err, CodeServer)
	_, err = s.GetToken(portUser(t, "b.jwt.sig"))
	require.NoError(t, err)
	assert.Equal(t, 2, e.exchanges())
	assert.False(t, portState(s).denied)
}

func TestOIDCStrategy_ACachedEngineWhoseRenewalIsRefusedLeavesTheCache(t *testing.T) {
	e, s := newPortOIDC(t)
	portGetOK(t, s, "a.jwt.sig")
	require.Equal(t, 1, portState(s).cached)

	e.clock.Advance(16 * time.Minute)
	e.fake.handle("/api/authorise", func(w http.ResponseWriter, r *http.Request) { writeText(w, 401, "revoked") })
	_, err := s.GetToken(portUser(t, "a.jwt.sig"))
	portRequireCode(t, err, CodeServer)
	assert.Equal(t, portOIDCState{pending: map[string]int{}}, portState(s))

	e.fake.handle("/api/authorise", portFederateOK(t, e.clock, testWS, 15*time.Minute))
	_, err = s.GetToken(portUser(t, "a.jwt.sig"))
	require.NoError(t, err)
	assert.Equal(t, 3, e.exchanges())
}

func TestOIDCStrategy_AnAccountRefusalOnRenewalIsRememberedForOtherJWTs(t *testing.T) {
	e, s := newPortOIDC(t)
	portGetOK(t, s, "a.jwt.sig")

	e.clock.Advance(16 * time.Minute)
	e.fake.handle("/api/authorise", portUsageLimit)
	_, err := s.GetToken(portUser(t, "a.jwt.sig"))
	portRequireCode(t, err, CodeUsageLimitExceeded)
	_, err = s.GetToken(portUser(t, "b.jwt.sig"))
	portRequireCode(t, err, CodeUsageLimitExceeded)
	assert.Equal(t, 2, e.exchanges(), "B was refused from memory")
}

// ---- cache.rs: the LRU itself ----

func portHandles(n int) []*Engine {
	hs := make([]*Engine, n)
	for i := range hs {
		hs[i] = &Engine{}
	}
	return hs
}

// portLRUWithAB is a cache of that capacity holding "a" (h[0]), then "b" (h[1]); h[2] is a
// third handle, not cached.
func portLRUWithAB(capacity int) (*lruCache, []*Engine) {
	c, h := newLRUCache(capacity), portHandles(3)
	c.put("a", h[0])
	c.put("b", h[1])
	return c, h
}

func portLRUKeys(c *lruCache) []string {
	var keys []string
	for el := c.order.Front(); el != nil; el = el.Next() {
		keys = append(keys, el.Value.(*lruItem).key)
	}
	return keys
}

func TestOIDCCache_ALookupHitMakesTheEntryMostRecentlyUsed(t *testing.T) {
	c := newLRUCache(8)
	h := portHandles(2)
	got, ok := c.get("a")
	assert.False(t, ok, "a miss returns nothing")
	assert.Nil(t, got)
	assert.Equal(t, 0, c.len(), "a miss inserts nothing")

	c.put("a", h[0])
	c.put("b", h[1])
	assert.Equal(t, []string{"b", "a"}, portLRUKeys(c), "most recently used first")

	got, ok = c.get("a")
	require.True(t, ok)
	assert.Same(t, h[0], got, "a hit returns the cached handle")
	assert.Equal(t, []string{"a", "b"}, portLRUKeys(c), "a hit restamps; the untouched entry keeps its place")
}

func TestOIDCCache_AtCapacityTheLeastRecentlyUsedEntryIsEvicted(t *testing.T) {
	c, h := portLRUWithAB(2)
	_, _ = c.get("a")
	c.put("c", h[2])
	assert.Equal(t, 2, c.len())
	assert.Equal(t, []string{"c", "a"}, portLRUKeys(c), "b was the least recently used")
	_, ok := c.get("b")
	assert.False(t, ok)
}

func TestOIDCCache_InsertingACachedDigestReplacesWithoutEvicting(t *testing.T) {
	c, h := portLRUWithAB(2)
	c.put("a", h[2])
	assert.Equal(t, 2, c.len())
	got, _ := c.get("a")
	assert.Same(t, h[2], got)
	got, ok := c.get("b")
	require.True(t, ok, "b survived the re-insert")
	assert.Same(t, h[1], got)
}

func TestOIDCCache_AZeroCapacityCacheRetainsNothing(t *testing.T) {
	c := newLRUCache(0)
	c.put("a", &Engine{})
	assert.Equal(t, 0, c.len())
	_, ok := c.get("a")
	assert.False(t, ok)
}

func TestOIDCCache_RemoveIfDropsOnlyTheHandleItIsShown(t *testing.T) {
	c, h := portLRUWithAB(8)

	c.removeIf("a", h[2])
	assert.Equal(t, 2, c.len(), "a handle that does not match removes nothing")

	c.removeIf("a", h[0])
	assert.Equal(t, 1, c.len())
	_, ok := c.get("a")
	assert.False(t, ok)
	got, ok := c.get("b")
	require.True(t, ok, "the other entry is untouched")
	assert.Same(t, h[1], got)

	c.removeIf("zzz", h[0])
	assert.Equal(t, 1, c.len(), "an absent digest is a no-op")
}

// A cached per-JWT lookup copies nothing: no allocation, so no copy of the JWT is left on the
// heap unwiped, and the digest is the one the store scope and JWTDigest use.
func TestCachedJWTLookupCopiesNothing(t *testing.T) {
	s, err := NewOidcFederationStrategy("crn:ap-southeast-2.aws:"+testWS, NoOidcProvider, emptyEnv())
	require.NoError(t, err)
	jwt := NewSecretToken("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln")
	s.cache.put(JWTDigest(jwt.Reveal()), &Engine{})
	allocs := testing.AllocsPerRun(100, func() {
		d := digestOf(jwt)
		if _, ok := s.cache.getDigest(&d); !ok {
			t.Fatal("the digest differs from JWTDigest's")
		}
	})
	assert.Zero(t, allocs)
}
