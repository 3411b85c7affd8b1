package stackauth

import (
	"context"

	"golang.org/x/oauth2"
)

// OidcProviderFromTokenSource adapts a golang.org/x/oauth2 TokenSource (a Google ID-token
// source, an OpenID Connect client's, a workload identity's) into an OidcProvider, as
// upstream's Go binding does. The JWT is the token's "id_token" extra when it has one, else
// its AccessToken (ID-token sources put the JWT there). Wrap the source in
// oauth2.ReuseTokenSource to ask it only when its token expires; the strategy caches a CTS
// token per JWT either way. A source's failure is SERVER_ERROR with the source's error as
// its cause (never in the message: it may quote a server's reply). Token takes no context,
// so a call that outlives ctx is left to finish on its own and ctx's error is returned.
func OidcProviderFromTokenSource(src oauth2.TokenSource) OidcProvider {
	return func(ctx context.Context) (SecretToken, error) {
		if src == nil {
			return SecretToken{}, NewInternalError("OIDC token source is nil")
		}
		type result struct {
			tok *oauth2.Token
			err error
		}
		done := make(chan result, 1)
		go func() {
			tok, err := src.Token()
			done <- result{tok, err}
		}()
		select {
		case <-ctx.Done():
			return SecretToken{}, ctx.Err()
		case r := <-done:
			if r.err != nil {
				return SecretToken{}, wrapError(CodeServer, r.err, "the OIDC token source failed")
			}
			if r.tok != nil {
				if id, _ := r.tok.Extra("id_token").(string); id != "" {
					return NewSecretToken(id), nil
				}
				if r.tok.AccessToken != "" {
					return NewSecretToken(r.tok.AccessToken), nil
				}
			}
			return SecretToken{}, NewServerError("the OIDC token source returned no token")
		}
	}
}
