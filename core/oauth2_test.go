package stackauth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	stackauth "github.com/stackauth/stack-auth/core"
	"github.com/stackauth/stack-auth/emulator"
)

type tokenSourceFunc func() (*oauth2.Token, error)

func (f tokenSourceFunc) Token() (*oauth2.Token, error) { return f() }

// An oauth2.TokenSource serves as an OIDC provider: its ID token when it has one (an
// OpenID Connect flow), else its access token (idtoken-style sources put the JWT there).
func TestOidcProviderFromTokenSource(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	ctx := context.Background()
	userJWT := fakeProviderJWT(`{"sub":"auth0|user1","iss":"https://idp.example.com/"}`)
	idJWT := fakeProviderJWT(`{"sub":"auth0|user2","iss":"https://idp.example.com/"}`)

	calls := 0
	src := oauth2.ReuseTokenSource(nil, tokenSourceFunc(func() (*oauth2.Token, error) {
		calls++
		return &oauth2.Token{AccessToken: userJWT}, nil
	}))
	s, err := stackauth.NewOidcFederationStrategy(w.emu.WorkspaceCRN(), stackauth.OidcProviderFromTokenSource(src), w.opts()...)
	require.NoError(t, err)
	defer s.Close()
	for i := 0; i < 3; i++ {
		tok, err := s.GetToken(ctx)
		require.NoError(t, err)
		sub, _ := tok.Subject()
		assert.Equal(t, "CS|auth0|user1", sub)
	}
	assert.Equal(t, 1, calls, "the reusing source is asked once")
	assert.Equal(t, 1, w.emu.RequestCount("/api/authorise"), "one exchange for one JWT")

	withID := (&oauth2.Token{AccessToken: "opaque-access-token"}).WithExtra(map[string]any{"id_token": idJWT})
	s2, err := stackauth.NewOidcFederationStrategy(w.emu.WorkspaceCRN(),
		stackauth.OidcProviderFromTokenSource(oauth2.StaticTokenSource(withID)), w.opts()...)
	require.NoError(t, err)
	defer s2.Close()
	tok, err := s2.GetToken(ctx)
	require.NoError(t, err)
	sub, _ := tok.Subject()
	assert.Equal(t, "CS|auth0|user2", sub, "the id_token is the JWT federated")
}

func TestOidcProviderFromTokenSourceFailures(t *testing.T) {
	ctx := context.Background()
	cause := errors.New("metadata server said no")
	_, err := stackauth.OidcProviderFromTokenSource(tokenSourceFunc(func() (*oauth2.Token, error) { return nil, cause }))(ctx)
	require.Error(t, err)
	assert.ErrorIs(t, err, cause, "the source's error is the cause")
	assert.Equal(t, stackauth.CodeServer, stackauth.AsAuthError(err).Code)

	_, err = stackauth.OidcProviderFromTokenSource(oauth2.StaticTokenSource(&oauth2.Token{}))(ctx)
	assert.Equal(t, stackauth.CodeServer, stackauth.AsAuthError(err).Code, "an empty token is refused")
	_, err = stackauth.OidcProviderFromTokenSource(nil)(ctx)
	assert.Equal(t, stackauth.CodeInternal, stackauth.AsAuthError(err).Code)

	// A source that blocks does not hold the caller past its context.
	release := make(chan struct{})
	defer close(release)
	blocked := stackauth.OidcProviderFromTokenSource(tokenSourceFunc(func() (*oauth2.Token, error) {
		<-release
		return &oauth2.Token{AccessToken: "late"}, nil
	}))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = blocked(cctx)
	assert.ErrorIs(t, err, context.Canceled)
}
