package stackauth

import "context"

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

// AuthStrategyFn runs fn on every call, with no caching: acquisition implemented
// elsewhere (a host language, a secrets manager). Its errors are returned unchanged.
type AuthStrategyFn func(ctx context.Context) (ServiceToken, error)

func (f AuthStrategyFn) GetToken(ctx context.Context) (ServiceToken, error) { return f(ctx) }

// StaticTokenStrategy always returns the same token; for tests and fixed credentials.
type StaticTokenStrategy struct{ tok ServiceToken }

func NewStaticTokenStrategy(token string) *StaticTokenStrategy {
	return &StaticTokenStrategy{tok: NewServiceToken(NewSecretToken(token))}
}

func (s *StaticTokenStrategy) GetToken(context.Context) (ServiceToken, error) { return s.tok, nil }
func (s *StaticTokenStrategy) String() string                                 { return "StaticTokenStrategy(***)" }
