package stackauth

// Benchmarks: the cached GetToken against golang.org/x/oauth2's ReuseTokenSource over the
// same token in the same run, single-threaded and under RunParallel, and the stale path.
// Run with `make bench`.

import (
	"context"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// benchRefresher mints tokens without the network; block makes a refresh hang, so that a
// stale token stays stale for the whole benchmark.
type benchRefresher struct {
	b     *testing.B
	ttl   time.Duration
	block chan struct{}
}

func (r *benchRefresher) canRefresh(*Token) bool { return true }

func (r *benchRefresher) refresh(ctx context.Context, _ *Token) (*Token, error) {
	if r.block != nil {
		select {
		case <-r.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	exp := time.Now().Add(r.ttl).Unix()
	return &Token{AccessToken: NewSecretToken(makeJWT(r.b, ctsClaims(testWS, exp))), TokenType: "Bearer", ExpiresAt: uint64(exp)}, nil
}

func benchEngine(b *testing.B, r *benchRefresher) *Engine {
	e := newEngine(r, nil, func(t ServiceToken) error { return t.VerifyWorkspace(testWS) }, buildOptions([]Option{emptyEnv()}))
	b.Cleanup(e.Close)
	return e
}

// cachedEngine is an engine holding an hour-long token, for the cached path.
func cachedEngine(b *testing.B) *Engine {
	e := benchEngine(b, &benchRefresher{b: b, ttl: time.Hour})
	if _, err := e.GetToken(context.Background()); err != nil {
		b.Fatal(err)
	}
	return e
}

func reuseTokenSource(b *testing.B) oauth2.TokenSource {
	exp := time.Now().Add(time.Hour)
	tok := &oauth2.Token{AccessToken: makeJWT(b, ctsClaims(testWS, exp.Unix())), TokenType: "Bearer", Expiry: exp}
	return oauth2.ReuseTokenSource(tok, oauth2.StaticTokenSource(tok))
}

func BenchmarkCachedGetToken(b *testing.B) {
	b.Run("stackauth", func(b *testing.B) {
		e := cachedEngine(b)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.GetToken(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("oauth2.ReuseTokenSource", func(b *testing.B) {
		src := reuseTokenSource(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := src.Token(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCachedGetTokenParallel(b *testing.B) {
	b.Run("stackauth", func(b *testing.B) {
		e := cachedEngine(b)
		ctx := context.Background()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := e.GetToken(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("oauth2.ReuseTokenSource", func(b *testing.B) {
		src := reuseTokenSource(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := src.Token(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkStaleGetToken measures what a caller pays while a refresh is in flight: the
// stale token comes back under the engine's mutex, without waiting for the refresh.
func BenchmarkStaleGetToken(b *testing.B) {
	r := &benchRefresher{b: b, ttl: 60 * time.Second, block: make(chan struct{})}
	e := benchEngine(b, r)
	exp := time.Now().Add(10 * time.Second).Unix() // 10 s left of a long-lived token: stale
	claims := ctsClaims(testWS, exp)
	e.seed(&Token{AccessToken: NewSecretToken(makeJWT(b, claims)), TokenType: "Bearer", ExpiresAt: uint64(exp)})
	ctx := context.Background()
	if _, err := e.GetToken(ctx); err != nil { // starts the (blocked) background refresh
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.GetToken(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(r.block)
}

// The cached per-JWT OIDC path (every language's cached OIDC call ends here): the JWT's
// digest and the cache lookup, then the engine's cached token.
func BenchmarkCachedTryGetTokenForJWT(b *testing.B) {
	s, err := NewOidcFederationStrategy("crn:ap-southeast-2.aws:"+testWS, NoOidcProvider, emptyEnv())
	if err != nil {
		b.Fatal(err)
	}
	jwt := NewSecretToken(makeJWT(b, map[string]any{"sub": "bench-oidc", "iss": "https://idp.example"}))
	s.cache.put(JWTDigest(jwt.Reveal()), cachedEngine(b))
	b.ReportAllocs()
	for b.Loop() {
		if _, err, ok := s.TryGetTokenForJWT(jwt); !ok || err != nil {
			b.Fatal("not cached", err)
		}
	}
}
