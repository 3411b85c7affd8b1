package redisstore

// RedisTokenStore shares tokens across every host of a fleet (docs/architecture.md G7).
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
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	redisDefaultPrefix  = "stack-auth:"
	redisDefaultLockTTL = 30 * time.Second
	redisDefaultTimeout = 500 * time.Millisecond
	redisSealVersion    = 1
	passwordMask        = "***" // as core masks a secret
)

// redisClient is what the store uses of go-redis's clients. Holding a client as this narrow
// interface rather than redis.UniversalClient (hundreds of commands) lets the linker drop
// every command the store never sends: about 0.9 MB of the library.
type redisClient interface {
	redis.Scripter
	Get(ctx context.Context, key string) *redis.StringCmd
	Set(ctx context.Context, key string, value any, expiration time.Duration) *redis.StatusCmd
	SetNX(ctx context.Context, key string, value any, expiration time.Duration) *redis.BoolCmd
	Close() error
}

// Store is an unbound Redis store; strategies bind it to their credential.
type Store struct {
	client  redisClient
	desc    string // form and addresses, for String
	prefix  string
	lockTTL time.Duration
	timeout time.Duration
}

// Open opens a Redis store by one of the URLs stackauth.OpenRedisStore documents (forms,
// parameters); no connection is made until first use. getenv reads SSL_CERT_FILE. Every
// error is a problem with the URL, in words that never quote its password.
func Open(rawURL string, getenv func(string) string) (*Store, error) {
	u, err := parseRedisURL(rawURL)
	if err != nil {
		return nil, err
	}
	s := &Store{prefix: redisDefaultPrefix, lockTTL: redisDefaultLockTTL, timeout: redisDefaultTimeout,
		desc: u.form + " " + strings.Join(u.hosts, ",")}
	if v, ok := u.take("prefix"); ok {
		if v == "" || strings.ContainsAny(v, "{}") {
			return nil, redisURLError("prefix must be non-empty and free of { and } (they mark a Cluster hash tag)")
		}
		s.prefix = v
	}
	for name, dst := range map[string]*time.Duration{"lock_ttl": &s.lockTTL, "timeout": &s.timeout} {
		if v, ok := u.take(name); ok {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, redisURLError(name + " must be a positive duration such as 500ms")
			}
			*dst = d
		}
	}
	tlsConfig, err := u.tlsConfig(getenv)
	if err != nil {
		return nil, err
	}
	if s.client, err = u.newClient(tlsConfig, s.timeout); err != nil {
		return nil, err
	}
	return s, nil
}

// redisURL is a store URL taken apart. url.Parse cannot read a host list, and its errors
// quote the whole URL, password included, so the authority is split here; go-redis gets
// each form's URL without the user info, which is set on its options afterwards.
type redisURL struct {
	form     string // "redis", "redis+sentinel" or "redis+cluster"
	tls      bool
	user     *url.Userinfo
	hosts    []string
	segments []string // of the path
	query    url.Values
}

func redisURLError(problem string) error { return errors.New(problem) }

func parseRedisURL(raw string) (*redisURL, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, redisURLError("a redis URL starts with redis://, rediss://, redis+sentinel:// or redis+cluster://")
	}
	u := &redisURL{}
	switch strings.ToLower(scheme) {
	case "redis", "redis+sentinel", "redis+cluster":
	case "rediss", "rediss+sentinel", "rediss+cluster":
		u.tls = true
	default:
		return nil, redisURLError("unsupported scheme " + strconv.Quote(scheme) + "; use redis, rediss, redis+sentinel, rediss+sentinel, redis+cluster or rediss+cluster")
	}
	u.form = strings.Replace(strings.ToLower(scheme), "rediss", "redis", 1)
	authority, pathQuery := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, pathQuery = rest[:i], rest[i:]
	}
	path, rawQuery, _ := strings.Cut(pathQuery, "?")
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		parsed, err := url.Parse("redis://" + authority[:i] + "@localhost")
		if err != nil || parsed.User == nil {
			return nil, redisURLError("the user:password part is not valid (percent-encode reserved characters)")
		}
		u.user, authority = parsed.User, authority[i+1:]
	}
	defaultPort := "6379"
	if u.form == "redis+sentinel" {
		defaultPort = "26379"
	}
	for _, h := range strings.Split(authority, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil && strings.Contains(err.Error(), "missing port") {
			host, port, err = strings.Trim(h, "[]"), defaultPort, nil
		}
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || host == "" || n <= 0 || n > 65535 {
			return nil, redisURLError(fmt.Sprintf("host %q is not host:port", h))
		}
		u.hosts = append(u.hosts, net.JoinHostPort(host, port))
	}
	if len(u.hosts) > 1 && u.form == "redis" {
		return nil, redisURLError("several hosts need redis+sentinel:// or redis+cluster://")
	}
	for _, seg := range strings.Split(path, "/") {
		if seg != "" {
			u.segments = append(u.segments, seg)
		}
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, redisURLError("the query string is not valid")
	}
	u.query = q
	return u, nil
}

// take removes a parameter of ours from the query.
func (u *redisURL) take(name string) (string, bool) {
	if _, ok := u.query[name]; !ok {
		return "", false
	}
	v := u.query.Get(name)
	u.query.Del(name)
	return v, true
}

// tlsConfig is nil without TLS. The server is verified against ca, else SSL_CERT_FILE
// (read through getenv: the host's live environment), else the system roots.
func (u *redisURL) tlsConfig(getenv func(string) string) (*tls.Config, error) {
	ca, haveCA := u.take("ca")
	cert, haveCert := u.take("cert")
	key, haveKey := u.take("key")
	if !u.tls {
		if haveCA || haveCert || haveKey {
			return nil, redisURLError("ca, cert and key need TLS: use rediss://")
		}
		return nil, nil
	}
	host, _, _ := net.SplitHostPort(u.hosts[0])
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	if !haveCA {
		ca = getenv("SSL_CERT_FILE")
	}
	if ca != "" {
		what := "ca"
		if !haveCA {
			what = "SSL_CERT_FILE"
		}
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, redisURLError(what + ": " + err.Error())
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, redisURLError(what + ": no PEM certificate in " + ca)
		}
	}
	if haveCert != haveKey {
		return nil, redisURLError("cert and key go together (a client certificate and its private key)")
	}
	if haveCert {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			// Its errors name files and PEM problems, never key material.
			return nil, redisURLError("cert, key: " + err.Error())
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// newClient builds the client of each form through go-redis's own URL parsers, with
// fail-fast settings: the caller degrades to a local refresh instead of waiting.
func (u *redisURL) newClient(tlsConfig *tls.Config, timeout time.Duration) (redisClient, error) {
	goURL := func(path string, extra url.Values) string {
		q := url.Values{}
		for k, v := range u.query {
			q[k] = v
		}
		for k, v := range extra {
			q[k] = v
		}
		return (&url.URL{Scheme: "redis", Host: u.hosts[0], Path: path, RawQuery: q.Encode()}).String()
	}
	others := url.Values{"addr": u.hosts[1:]}
	var username, password string
	if u.user != nil {
		username = u.user.Username()
		password, _ = u.user.Password()
	}
	wrap := func(err error) error {
		// go-redis's parse errors name an option or the path; never pass anything else on.
		msg := strings.TrimPrefix(err.Error(), "redis: ")
		if password != "" {
			msg = strings.ReplaceAll(msg, password, passwordMask)
		}
		return redisURLError(msg)
	}
	// failFast gives every form the URL's credentials, the store's TLS and timeout, and no
	// retries but one dial (go-redis's default, 5, multiplies an outage's latency).
	failFast := func(user, pass *string, tlsc **tls.Config, maxRetries, dialerRetries *int,
		contextTimeout *bool, timeouts ...*time.Duration) {
		*user, *pass, *tlsc = username, password, tlsConfig
		*maxRetries, *dialerRetries, *contextTimeout = -1, 1, true
		for _, d := range timeouts {
			*d = timeout
		}
	}
	var client redisClient
	var err error
	switch u.form {
	case "redis+cluster":
		if len(u.segments) > 1 || len(u.segments) == 1 && u.segments[0] != "0" {
			return nil, redisURLError("a Cluster has only database 0: drop the path")
		}
		var o *redis.ClusterOptions
		if o, err = redis.ParseClusterURL(goURL("", others)); err == nil {
			failFast(&o.Username, &o.Password, &o.TLSConfig, &o.MaxRetries, &o.DialerRetries,
				&o.ContextTimeoutEnabled, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout)
			client = redis.NewClusterClient(o)
		}
	case "redis+sentinel":
		if len(u.segments) == 0 || len(u.segments) > 2 {
			return nil, redisURLError("a Sentinel URL names its master: redis+sentinel://host:26379/mymaster[/db]")
		}
		path := ""
		if len(u.segments) == 2 {
			path = "/" + u.segments[1]
		}
		others["master_name"] = []string{u.segments[0]}
		var o *redis.FailoverOptions
		if o, err = redis.ParseFailoverURL(goURL(path, others)); err == nil {
			failFast(&o.Username, &o.Password, &o.TLSConfig, &o.MaxRetries, &o.DialerRetries,
				&o.ContextTimeoutEnabled, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout)
			client = redis.NewFailoverClient(o)
		}
	default:
		var o *redis.Options
		if o, err = redis.ParseURL(goURL("/"+strings.Join(u.segments, "/"), nil)); err == nil {
			failFast(&o.Username, &o.Password, &o.TLSConfig, &o.MaxRetries, &o.DialerRetries,
				&o.ContextTimeoutEnabled, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout)
			client = redis.NewClient(o)
		}
	}
	if err != nil {
		return nil, wrap(err)
	}
	return client, nil
}

// String names the form and addresses, never the credentials.
func (s *Store) String() string { return s.desc }

// Close closes the client.
func (s *Store) Close() error { return s.client.Close() }

// Bind returns the view of one credential: its own key, lock and sealing key.
func (s *Store) Bind(scope string, secret []byte) *Binding {
	id := sha256.Sum256([]byte("stack-auth/redis/v1\x00" + scope))
	// The hash tag {…} puts the token and its lock in one Cluster slot, so the unlock
	// script (which names only the lock) and every command run on one node.
	key := s.prefix + "token:{" + hex.EncodeToString(id[:20]) + "}"
	sealKey, err := hkdf.Key(sha256.New, secret, []byte(scope), "stack-auth redis token seal v1", 32)
	if err != nil {
		return &Binding{s: s, key: key, bindErr: err}
	}
	block, err := aes.NewCipher(sealKey)
	clear(sealKey)
	if err != nil {
		return &Binding{s: s, key: key, bindErr: err}
	}
	aead, err := cipher.NewGCM(block)
	return &Binding{s: s, key: key, lockKey: key + ":lock", aead: aead, bindErr: err}
}

// Binding is one credential's view of the store. Its errors name the operation ("redis
// load: …") and never carry the sealed bytes.
type Binding struct {
	s       *Store
	key     string
	lockKey string
	aead    cipher.AEAD
	bindErr error
}

func (b *Binding) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.s.timeout)
}

func redisError(op string, err error) error {
	return fmt.Errorf("redis %s: %w", op, err)
}

// Load returns the stored bytes, or nil when nothing this credential sealed is stored. The
// caller zeroes them.
func (b *Binding) Load(ctx context.Context) ([]byte, error) {
	if b.bindErr != nil {
		return nil, b.bindErr
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
	return data, nil
}

// Save seals data and stores it for ttl (the token's remaining life).
func (b *Binding) Save(ctx context.Context, data []byte, ttl time.Duration) error {
	if b.bindErr != nil {
		return b.bindErr
	}
	if ttl <= 0 {
		return nil // nothing worth sharing
	}
	ctx, cancel := b.opContext(ctx)
	defer cancel()
	if err := b.s.client.Set(ctx, b.key, b.seal(data), ttl).Err(); err != nil {
		return redisError("save", err)
	}
	return nil
}

// seal is version || nonce || AES-GCM(token JSON), authenticated with the Redis key.
func (b *Binding) seal(plain []byte) []byte {
	out := make([]byte, 1+b.aead.NonceSize(), 1+b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	out[0] = redisSealVersion
	_, _ = rand.Read(out[1:])
	return b.aead.Seal(out, out[1:], plain, []byte(b.key))
}

func (b *Binding) open(sealed []byte) ([]byte, bool) {
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
func (b *Binding) Lock(ctx context.Context) (func(), error) {
	if b.bindErr != nil {
		return nil, b.bindErr
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
			return nil, redisError("lock", ctx.Err())
		}
		wait = min(wait*2, 100*time.Millisecond)
	}
}
