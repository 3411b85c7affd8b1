// Package stackauth gets short-lived CipherStash service tokens and keeps them fresh.
//
// It is the engine behind every binding of stack-auth: the strategies (access key,
// device session, device code, OIDC federation, auto-detection), the refresh engine that
// caches tokens and refreshes them once for every concurrent caller, the token stores,
// the CTS wire client and the error model. It is pure Go and may be used directly:
//
//	strategy, err := stackauth.DetectAutoStrategy()
//	if err != nil { ... }
//	tok, err := strategy.GetToken(ctx)
//	req.Header.Set("Authorization", "Bearer "+tok.Token().Reveal())
//
// Acquisition (strategies, engine) and persistence (stores, the profile directory in
// package profile) are kept in separate files; the token model and errors are shared.
// Secrets are carried in SecretToken, which never prints its value.
package stackauth
