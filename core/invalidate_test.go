package stackauth_test

// Invalidate works for every caching strategy (issue 12 item 4): on an OIDC strategy it
// drops the token of the JWT it was minted for, and only that one.

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	stackauth "github.com/stackauth/stack-auth/core"
	"github.com/stackauth/stack-auth/emulator"
)

func TestOidcInvalidateRefreshesThatJWTsToken(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	var mu sync.Mutex
	current := ""
	as := func(jwt string) { mu.Lock(); current = jwt; mu.Unlock() }
	s, err := stackauth.NewOidcFederationStrategy(w.emu.WorkspaceCRN(), func(context.Context) (stackauth.SecretToken, error) {
		mu.Lock()
		defer mu.Unlock()
		return stackauth.NewSecretToken(current), nil
	}, w.opts()...)
	require.NoError(t, err)
	defer s.Close()
	get := func(jwt string) stackauth.ServiceToken {
		as(jwt)
		tok, err := s.GetToken(context.Background())
		require.NoError(t, err)
		return tok
	}
	alice := fakeProviderJWT(`{"sub":"auth0|alice","iss":"https://idp.example.com/"}`)
	bob := fakeProviderJWT(`{"sub":"auth0|bob","iss":"https://idp.example.com/"}`)
	w.emu.ClearRequests()
	a1, b1 := get(alice), get(bob)
	require.Equal(t, 2, w.emu.RequestCount("/api/authorise"))

	inv, ok := any(s).(interface {
		Invalidate(stackauth.SecretToken) bool
	})
	require.True(t, ok, "an OIDC strategy can invalidate a token")
	assert.True(t, inv.Invalidate(a1.Token()), "alice's current token was rejected")

	a2 := get(alice)
	assert.False(t, a1.Token().Equal(a2.Token()), "the rejected token is not served again")
	sub, _ := a2.Subject()
	assert.Equal(t, "CS|auth0|alice", sub)
	assert.True(t, b1.Token().Equal(get(bob).Token()), "bob's token is untouched")
	assert.Equal(t, 3, w.emu.RequestCount("/api/authorise"))

	assert.False(t, inv.Invalidate(a1.Token()), "a late 401 for a replaced token changes nothing")
	assert.False(t, inv.Invalidate(stackauth.NewSecretToken("never-issued")))
	assert.True(t, a2.Token().Equal(get(alice).Token()))
	assert.Equal(t, 3, w.emu.RequestCount("/api/authorise"))
}
