package stackauth

import (
	"context"
	"errors"
	"time"

	"github.com/stackauth/stack-auth/core/redisstore"
)

// RedisTokenStore shares tokens across every host of a fleet (docs/architecture.md G7) through
// core/redisstore, which seals each credential's token under a key derived from its secret
// and coordinates refreshes with a lock; this type puts tokens and error codes on top.
type RedisTokenStore struct {
	redis *redisstore.Store
}

// OpenRedisStore opens a Redis store by URL; no connection is made until first use:
//
//	redis://[user:pass@]host[:port][/db]                       one server
//	rediss://...                                               the same over TLS
//	redis+sentinel://[user:pass@]host:26379[,host:26379...]/master[/db]
//	redis+cluster://[user:pass@]host:7000[,host:7001...]
//
// (rediss+sentinel and rediss+cluster use TLS too.) user:pass authenticate to the data
// nodes (Sentinels are asked for the master without credentials). Query parameters: prefix
// (key prefix, default "stack-auth:"), lock_ttl (default 30s), timeout (per operation,
// default 500ms); with TLS, ca (a PEM file of the CAs to trust instead of SSL_CERT_FILE or
// the system roots) and cert + key (a client certificate). Other parameters go to
// go-redis (e.g. pool_size). opts supply the environment (WithLookupEnv) for SSL_CERT_FILE.
// A bad URL is an INVALID_URL error. go-redis reports connection failures through its own
// process-wide logger (redis.SetLogger); the engine reports them as StoreDegraded events.
func OpenRedisStore(rawURL string, opts ...Option) (*RedisTokenStore, error) {
	s, err := redisstore.Open(rawURL, buildOptions(opts).getenv)
	if err != nil {
		return nil, newError(CodeInvalidURL, "token store: "+err.Error())
	}
	return &RedisTokenStore{redis: s}, nil
}

var errUnbound = errors.New("a redis token store is used through a strategy, which binds it to its credential")

func (s *RedisTokenStore) Load(context.Context) (*Token, error) {
	return nil, NewStoreError(errUnbound.Error())
}
func (s *RedisTokenStore) Save(context.Context, *Token) error {
	return NewStoreError(errUnbound.Error())
}
func (s *RedisTokenStore) String() string { return "RedisTokenStore(" + s.redis.String() + ")" }

// Close closes the client once the saves in flight (a strategy's save follows its callers'
// wake-up, and holds the lock until done) have finished, waiting FlushTimeout at most.
func (s *RedisTokenStore) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), FlushTimeout)
	defer cancel()
	_ = Flush(ctx)
	return s.redis.Close()
}

// Bind returns the view of one credential: its own key, lock and sealing key.
func (s *RedisTokenStore) Bind(scope string, secret []byte) TokenStore {
	return &redisBinding{redis: s.redis.Bind(scope, secret)}
}

type redisBinding struct {
	redis *redisstore.Binding
}

func (b *redisBinding) String() string { return "RedisTokenStore(bound)" }

func (b *redisBinding) Load(ctx context.Context) (*Token, error) {
	data, err := b.redis.Load(ctx)
	if err != nil {
		return nil, NewStoreError(err.Error())
	}
	if data == nil {
		return nil, nil
	}
	defer clear(data)
	t, err := decodeToken(data)
	if err != nil {
		return nil, nil // a foreign entry is a miss; the next save replaces it
	}
	return t, nil
}

func (b *redisBinding) Save(ctx context.Context, t *Token) error {
	ttl := time.Until(time.Unix(int64(min(t.ExpiresAt, 1<<62)), 0))
	data, err := encodeToken(t)
	if err != nil {
		return err
	}
	defer clear(data)
	if err := b.redis.Save(ctx, data, ttl); err != nil {
		return NewStoreError(err.Error())
	}
	return nil
}

// Lock takes the credential's refresh lock, polling until ctx is done. A Redis error ends
// the wait at once, so the caller refreshes locally instead of waiting for a dead server.
func (b *redisBinding) Lock(ctx context.Context) (func(), error) {
	unlock, err := b.redis.Lock(ctx)
	if err != nil {
		return nil, NewStoreError(err.Error())
	}
	return unlock, nil
}
