package stackauth

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// The caller's JWT goes straight to the per-JWT cache: the provider is never asked, each
// JWT is exchanged once however many callers race on it, and the try variant answers from
// the cache without waiting.
func TestOidcGetTokenForJWTSkipsProviderAndSharesCache(t *testing.T) {
	e := newPortOIDCEnv(t)
	s := e.strategy(t)
	alice, bob := NewSecretToken("alice.jwt.sig"), NewSecretToken("bob.jwt.sig")

	_, err, ok := s.TryGetTokenForJWT(alice)
	require.False(t, ok, "nothing cached yet: only waiting would give a token")
	require.NoError(t, err)

	var wg sync.WaitGroup
	subs := make([]string, 8)
	for i := range subs {
		wg.Go(func() {
			tok, err := s.GetTokenForJWT(context.Background(), alice)
			require.NoError(t, err)
			subs[i] = portSubject(t, tok)
		})
	}
	wg.Wait()
	for _, sub := range subs {
		require.Equal(t, subs[0], sub)
	}
	require.Equal(t, 1, e.exchanges())

	tok, err, ok := s.TryGetTokenForJWT(alice)
	require.True(t, ok)
	require.NoError(t, err)
	require.Equal(t, subs[0], portSubject(t, tok))

	// Through the provider path, the same JWT hits the same cache entry.
	ctx := context.WithValue(context.Background(), portJWTKey{}, alice.Reveal())
	tok, err = s.GetToken(ctx)
	require.NoError(t, err)
	require.Equal(t, subs[0], portSubject(t, tok))
	require.Equal(t, 1, e.exchanges())
	require.EqualValues(t, 1, e.providerCalls.Load())

	tok, err = s.GetTokenForJWT(context.Background(), bob)
	require.NoError(t, err)
	require.NotEqual(t, subs[0], portSubject(t, tok))
	require.Equal(t, 2, e.exchanges())
	require.EqualValues(t, 1, e.providerCalls.Load())

	// An empty JWT is not refused here: it is exchanged like any other (upstream_test.go).
	_, err, ok = s.TryGetTokenForJWT(SecretToken{})
	require.False(t, ok)
	require.NoError(t, err)
}

// A strategy without a provider serves passed JWTs and refuses GetToken with a typed error.
func TestOidcWithoutProviderNeedsTheJWT(t *testing.T) {
	e := newPortOIDCEnv(t)
	s, err := NewOidcFederationStrategy(testCRN, NoOidcProvider, portOpts(e.fake, e.clock)...)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	_, err = s.GetToken(context.Background())
	require.Equal(t, CodeInternal, AsAuthError(err).Code)
	require.Contains(t, err.Error(), "GetTokenForJWT")
	_, err = s.GetTokenForJWT(context.Background(), NewSecretToken("carol.jwt.sig"))
	require.NoError(t, err)
	require.Equal(t, 1, e.exchanges())
}
