package stackauth

// RedisTokenStore shares tokens across every host of a fleet (DESIGN 6.7).
//
// Each credential binds its own view (BindableStore): the token lives under a key derived
// from the credential's public scope (workspace and key id, hashed), with a TTL equal to the
// token's remaining life, and is sealed with AES-256-GCM under a key derived from the
// credential's secret, with the Redis key as additional data. A reader of Redis without the
// access key learns nothing and cannot forge or move an entry: anything that does not open
// is a miss. Refreshes are coordinated with a lock (SET NX PX with a random value, released
// by compare-and-delete) that expires by itself if its holder dies. Every operation has a
// short timeout: with Redis down, each process keeps its own token and refreshes alone.

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	redisDefaultPrefix  = "stack-auth:"
	redisDefaultLockTTL = 30 * time.Second
	redisDefaultTimeout = 500 * time.Millisecond
	redisSealVersion    = 1
)

// RedisTokenStore is an unbound Redis store; strategies bind it to their credential.
type RedisTokenStore struct {
	client  *redis.Client
	prefix  string
	lockTTL time.Duration
	timeout time.Duration
}

// OpenRedisStore opens redis://[user:pass@]host:port/db with optional query parameters
// prefix (key prefix, default "stack-auth:"), lock_ttl (default 30s) and timeout (per
// operation, default 500ms). No connection is made until first use. go-redis reports
// connection failures through its own process-wide logger (redis.SetLogger); the engine
// reports them as StoreDegraded events.
func OpenRedisStore(rawURL string) (*RedisTokenStore, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, newError(CodeInvalidURL, "token store: "+redactURL(rawURL))
	}
	s := &RedisTokenStore{prefix: redisDefaultPrefix, lockTTL: redisDefaultLockTTL, timeout: redisDefaultTimeout}
	q := u.Query()
	if v := q.Get("prefix"); v != "" {
		s.prefix = v
	}
	for name, dst := range map[string]*time.Duration{"lock_ttl": &s.lockTTL, "timeout": &s.timeout} {
		if v := q.Get(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, newError(CodeInvalidURL, fmt.Sprintf("token store: %s must be a positive duration such as 500ms", name))
			}
			*dst = d
		}
		q.Del(name)
	}
	q.Del("prefix")
	u.RawQuery = q.Encode()
	opt, err := redis.ParseURL(u.String())
	if err != nil {
		// go-redis's message can quote the URL, password included: describe it ourselves.
		return nil, newError(CodeInvalidURL, "token store: not a valid redis URL: "+redactURL(rawURL))
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = s.timeout, s.timeout, s.timeout, s.timeout
	opt.MaxRetries = -1   // fail fast: the caller degrades to a local refresh
	opt.DialerRetries = 1 // (its default, 5, multiplies an outage's latency)
	opt.ContextTimeoutEnabled = true
	s.client = redis.NewClient(opt)
	return s, nil
}

var errUnbound = errors.New("a redis token store is used through a strategy, which binds it to its credential")

func (s *RedisTokenStore) Load(context.Context) (*Token, error) {
	return nil, NewStoreError(errUnbound.Error())
}
func (s *RedisTokenStore) Save(context.Context, *Token) error {
	return NewStoreError(errUnbound.Error())
}
func (s *RedisTokenStore) String() string { return "RedisTokenStore(" + s.client.Options().Addr + ")" }
func (s *RedisTokenStore) Close() error   { return s.client.Close() }

// Bind returns the view of one credential: its own key, lock and sealing key.
func (s *RedisTokenStore) Bind(scope string, secret []byte) TokenStore {
	id := sha256.Sum256([]byte("stack-auth/redis/v1\x00" + scope))
	key := s.prefix + "token:" + hex.EncodeToString(id[:20])
	sealKey, err := hkdf.Key(sha256.New, secret, []byte(scope), "stack-auth redis token seal v1", 32)
	if err != nil {
		return &redisBinding{s: s, key: key, bindErr: err}
	}
	block, err := aes.NewCipher(sealKey)
	clear(sealKey)
	if err != nil {
		return &redisBinding{s: s, key: key, bindErr: err}
	}
	aead, err := cipher.NewGCM(block)
	return &redisBinding{s: s, key: key, lockKey: key + ":lock", aead: aead, bindErr: err}
}

type redisBinding struct {
	s       *RedisTokenStore
	key     string
	lockKey string
	aead    cipher.AEAD
	bindErr error
}

func (b *redisBinding) String() string { return "RedisTokenStore(bound)" }

func (b *redisBinding) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.s.timeout)
}

func redisError(op string, err error) *AuthError {
	return NewStoreError("redis " + op + ": " + err.Error())
}

func (b *redisBinding) Load(ctx context.Context) (*Token, error) {
	if b.bindErr != nil {
		return nil, NewStoreError(b.bindErr.Error())
	}
	ctx, cancel := b.opContext(ctx)
	defer cancel()
	sealed, err := b.s.client.Get(ctx, b.key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, redisError("load", err)
	}
	data, ok := b.open(sealed)
	if !ok {
		return nil, nil // tampered, foreign or from another credential: a miss
	}
	defer clear(data)
	t, err := decodeToken(data)
	if err != nil {
		return nil, nil
	}
	return t, nil
}

func (b *redisBinding) Save(ctx context.Context, t *Token) error {
	if b.bindErr != nil {
		return NewStoreError(b.bindErr.Error())
	}
	ttl := time.Until(time.Unix(int64(min(t.ExpiresAt, 1<<62)), 0))
	if ttl <= 0 {
		return nil // nothing worth sharing
	}
	data, err := encodeToken(t)
	if err != nil {
		return err
	}
	defer clear(data)
	ctx, cancel := b.opContext(ctx)
	defer cancel()
	if err := b.s.client.Set(ctx, b.key, b.seal(data), ttl).Err(); err != nil {
		return redisError("save", err)
	}
	return nil
}

// seal is version || nonce || AES-GCM(token JSON), authenticated with the Redis key.
func (b *redisBinding) seal(plain []byte) []byte {
	out := make([]byte, 1+b.aead.NonceSize(), 1+b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	out[0] = redisSealVersion
	_, _ = rand.Read(out[1:])
	return b.aead.Seal(out, out[1:], plain, []byte(b.key))
}

func (b *redisBinding) open(sealed []byte) ([]byte, bool) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n+b.aead.Overhead() || sealed[0] != redisSealVersion {
		return nil, false
	}
	plain, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(b.key))
	return plain, err == nil
}

// unlockScript deletes the lock only if this holder still owns it.
var unlockScript = redis.NewScript(`if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`)

// Lock takes the credential's refresh lock, polling until ctx is done. A Redis error ends
// the wait at once, so the caller refreshes locally instead of waiting for a dead server.
func (b *redisBinding) Lock(ctx context.Context) (func(), error) {
	if b.bindErr != nil {
		return nil, NewStoreError(b.bindErr.Error())
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	owner := hex.EncodeToString(raw[:])
	wait := 5 * time.Millisecond
	for {
		opCtx, cancel := b.opContext(ctx)
		ok, err := b.s.client.SetNX(opCtx, b.lockKey, owner, b.s.lockTTL).Result()
		cancel()
		if err != nil {
			return nil, redisError("lock", err)
		}
		if ok {
			return func() {
				ctx, cancel := context.WithTimeout(context.Background(), b.s.timeout)
				defer cancel()
				_ = unlockScript.Run(ctx, b.s.client, []string{b.lockKey}, owner).Err()
			}, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, NewStoreError("redis lock: " + ctx.Err().Error())
		}
		wait = min(wait*2, 100*time.Millisecond)
	}
}
