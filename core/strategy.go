package stackauth

import (
	"context"
	"fmt"
)

// AuthStrategy is anything that gets a service token. Implementations are safe for
// concurrent use; share one instance.
type AuthStrategy interface {
	GetToken(ctx context.Context) (ServiceToken, error)
}

// Invalidator is a strategy that caches tokens (every one but AuthStrategyFn and
// StaticTokenStrategy, which cache nothing and so have nothing to invalidate).
type Invalidator interface {
	// Invalidate forces a refresh if token is still the current one (after a 401), and
	// reports whether it did.
	Invalidate(token SecretToken) bool
}

// CachingStrategy is an AuthStrategy backed by the refresh engine.
type CachingStrategy interface {
	AuthStrategy
	Invalidator
	// TryGetToken never blocks; ok=false means the caller would have to wait.
	TryGetToken() (tok ServiceToken, err error, ok bool)
	// Close stops background work; later calls fail.
	Close()
}

// AuthStrategyFn gets its token from fn: acquisition implemented elsewhere (a host
// language, a secrets manager). Nothing is cached, but concurrent callers share one call of
// fn (single flight, as the C ABI's get-token hook does): fn runs on a goroutine of its own
// with the first caller's context values, no cancellation, and a DefaultWait deadline, so a
// caller that gives up never cancels the call the others wait for. Its errors are returned
// unchanged; a panic in fn becomes an INTERNAL_ERROR.
type AuthStrategyFn struct {
	fn    func(ctx context.Context) (ServiceToken, error)
	calls SharedCall[ServiceToken]

	onWait func() // test hook: a caller is about to wait for the shared call
}

// NewAuthStrategyFn returns the strategy that gets its tokens from fn.
func NewAuthStrategyFn(fn func(ctx context.Context) (ServiceToken, error)) *AuthStrategyFn {
	return &AuthStrategyFn{fn: fn}
}

func (s *AuthStrategyFn) GetToken(ctx context.Context) (ServiceToken, error) {
	c := s.calls.Join(func(c *Call[ServiceToken]) { go s.run(ctx, c) })
	if s.onWait != nil {
		s.onWait()
	}
	return c.Wait(ctx)
}

func (s *AuthStrategyFn) run(caller context.Context, c *Call[ServiceToken]) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(caller), DefaultWait)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { // fn ignoring its deadline does not hold everyone up
		c.Finish(ServiceToken{}, wrapError(CodeRequest, ctx.Err(), "the token function did not return in time"))
	})
	defer stop()
	defer func() {
		if p := recover(); p != nil {
			// Only the type: a panic value could hold a secret.
			c.Finish(ServiceToken{}, NewInternalError(fmt.Sprintf("the token function panicked (%T)", p)))
		}
	}()
	c.Finish(s.fn(ctx))
}

// ServiceTokenFromValue turns the bearer string a user's token function returned into a
// ServiceToken: the checks every language's AuthStrategyFn gets (an empty string is an
// error, never a token).
func ServiceTokenFromValue(value string) (ServiceToken, error) {
	if value == "" {
		return ServiceToken{}, NewCustomError("the token function returned an empty token")
	}
	return NewServiceToken(NewSecretToken(value)), nil
}

// StaticTokenStrategy always returns the same token; for tests and fixed credentials.
type StaticTokenStrategy struct{ tok ServiceToken }

func NewStaticTokenStrategy(token string) *StaticTokenStrategy {
	return &StaticTokenStrategy{tok: NewServiceToken(NewSecretToken(token))}
}

func (s *StaticTokenStrategy) GetToken(context.Context) (ServiceToken, error) { return s.tok, nil }
func (s *StaticTokenStrategy) String() string                                 { return "StaticTokenStrategy(***)" }
