package stackauth

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
)

// DefaultOidcCacheCapacity is how many provider JWTs keep their own engine.
const DefaultOidcCacheCapacity = 1024

// OidcProvider returns the current caller's third-party OIDC JWT (docs/protocol.md 2.4, 4.2).
type OidcProvider func(ctx context.Context) (SecretToken, error)

// OidcFederationStrategy exchanges a third-party OIDC JWT for a CTS token. Each distinct
// JWT (keyed on its bytes, never its claims) gets its own engine, so one user is never
// served another's token; engines live in an LRU cache. The provider is asked on every
// call. Account refusals are remembered for every JWT for DenialTTL.
type OidcFederationStrategy struct {
	crn      Crn
	provider OidcProvider
	cts      *ctsClient
	store    TokenStore
	o        *options

	mu      sync.Mutex
	cache   *lruCache
	pending map[string]*pendingEngine
	denial  *denial
}

type pendingEngine struct {
	eng  *Engine
	refs int
}

// NewOidcFederationStrategy builds the strategy; the CTS URL is WithBaseURL > CS_CTS_HOST >
// the region's discovery URL. WithStore gives one slot that holds the last token, bound to
// the JWT it was federated from.
func NewOidcFederationStrategy(workspaceCrn string, provider OidcProvider, opts ...Option) (*OidcFederationStrategy, error) {
	crn, err := ParseCrn(workspaceCrn)
	if err != nil {
		return nil, err
	}
	if provider == nil {
		return nil, NewInternalError("OIDC provider is nil (use NoOidcProvider when every caller passes its JWT)")
	}
	o := buildOptions(opts)
	base, err := resolveBaseURL(o.baseURL, o.getenv, discoveryURL(crn.Region))
	if err != nil {
		return nil, err
	}
	store := o.store
	if store == nil {
		store = NoStore{}
	}
	return &OidcFederationStrategy{crn: crn, provider: provider, cts: o.cts(base), store: store, o: o,
		cache: newLRUCache(o.cacheCapacity), pending: map[string]*pendingEngine{}}, nil
}

// JWTDigest is the lowercase hex SHA-256 of a whole JWT.
func JWTDigest(jwt string) string {
	sum := sha256.Sum256([]byte(jwt))
	return hex.EncodeToString(sum[:])
}

// jwtDigest is JWTDigest of a secret JWT, in an array: a cached lookup allocates nothing and
// leaves no copy of the JWT behind.
type jwtDigest [2 * sha256.Size]byte

func digestOf(jwt SecretToken) (d jwtDigest) {
	sum := jwt.sum256()
	hex.Encode(d[:], sum[:])
	return d
}

// NoOidcProvider is the provider of a strategy whose callers always pass their JWT
// (GetTokenForJWT): the bindings call their user's provider in the user's own language.
func NoOidcProvider(context.Context) (SecretToken, error) {
	return SecretToken{}, NewInternalError("this OidcFederationStrategy has no provider: pass the caller's JWT (GetTokenForJWT, sa_oidc_get_token_with_jwt)")
}

// GetToken asks the provider for the caller's JWT, then exchanges it as GetTokenForJWT.
func (s *OidcFederationStrategy) GetToken(ctx context.Context) (ServiceToken, error) {
	jwt, err := s.provider(ctx)
	if err != nil {
		return ServiceToken{}, err
	}
	return s.exchange(ctx, jwt)
}

// TryGetTokenForJWT never blocks and never calls the provider: the token cached for jwt
// (a stale one starts a background refresh), a remembered refusal, or ok=false when only
// waiting (an exchange) would give one.
func (s *OidcFederationStrategy) TryGetTokenForJWT(jwt SecretToken) (tok ServiceToken, err error, ok bool) {
	digest := digestOf(jwt)
	s.mu.Lock()
	eng, cached := s.cache.getDigest(&digest)
	s.mu.Unlock()
	if !cached {
		return ServiceToken{}, nil, false
	}
	if tok, err, ok = eng.TryGetToken(); !ok || err != nil {
		return tok, err, ok
	}
	if err := tok.VerifyWorkspace(s.crn.WorkspaceID); err != nil {
		return ServiceToken{}, err, true
	}
	return tok, nil, true
}

// GetTokenForJWT returns the token for jwt, the caller's OIDC JWT, without calling the
// provider: the per-JWT cache, single-flight exchange and ctx's deadline apply as for
// GetToken (a multi-tenant server passes each request's JWT to one strategy). As upstream
// does with a provider's, an empty JWT is sent and the server's answer reported.
func (s *OidcFederationStrategy) GetTokenForJWT(ctx context.Context, jwt SecretToken) (ServiceToken, error) {
	return s.exchange(ctx, jwt)
}

// exchange is the one path of every caller: the per-JWT engine (cached or pending, shared
// by concurrent callers of the same JWT) and its workspace check.
func (s *OidcFederationStrategy) exchange(ctx context.Context, jwt SecretToken) (ServiceToken, error) {
	d := digestOf(jwt)
	digest := string(d[:])

	s.mu.Lock()
	eng, cached := s.cache.get(digest)
	var p *pendingEngine
	if !cached {
		if p = s.pending[digest]; p == nil {
			if s.denial.freshAt(uint64(s.o.clock.Now().Unix())) {
				err := s.denial.err
				s.mu.Unlock()
				return ServiceToken{}, err
			}
			r := &jwtRefresher{cts: s.cts, jwt: jwt, digest: digest, workspaceID: s.crn.WorkspaceID}
			store := bindStore(s.store, oidcScope(s.crn.WorkspaceID, digest), []byte(jwt.Reveal()))
			p = &pendingEngine{eng: newEngine(r, store, nil, s.o)}
			s.pending[digest] = p
		}
		p.refs++
		eng = p.eng
	}
	s.mu.Unlock()

	tok, err := eng.GetToken(ctx)
	s.settle(digest, eng, p, err)
	if err != nil {
		return ServiceToken{}, err
	}
	if err := tok.VerifyWorkspace(s.crn.WorkspaceID); err != nil {
		return ServiceToken{}, err
	}
	return tok, nil
}

// settle moves a pending engine into the cache on success, and on failure drops it (from
// pending once nobody waits on it, or from the cache) and remembers account refusals.
func (s *OidcFederationStrategy) settle(digest string, eng *Engine, p *pendingEngine, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	isPending := p != nil && s.pending[digest] == p
	if p != nil {
		p.refs--
	}
	if err == nil {
		if isPending {
			delete(s.pending, digest)
			s.cache.put(digest, eng)
		}
		return
	}
	callerGaveUp := errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
	if isPending && (!callerGaveUp || p.refs == 0) {
		delete(s.pending, digest)
		if p.refs == 0 && callerGaveUp {
			eng.Close()
		}
	}
	if !isPending {
		s.cache.removeIf(digest, eng)
	}
	if ae := AsAuthError(err); ae.IsAccountRefusal() {
		s.denial = &denial{err: ae, at: uint64(s.o.clock.Now().Unix())}
	}
}

// Invalidate reports that the server rejected token (a 401): the engine of the JWT it was
// minted for refreshes on its next call, if token is still that engine's current one. The
// other JWTs' tokens are untouched.
func (s *OidcFederationStrategy) Invalidate(token SecretToken) bool {
	s.mu.Lock()
	engines := s.cache.engines()
	for _, p := range s.pending {
		engines = append(engines, p.eng)
	}
	s.mu.Unlock()
	// Outside s.mu: Invalidate reports an event, a host hook.
	for _, eng := range engines {
		if eng.Invalidate(token) {
			return true
		}
	}
	return false
}

// Close closes every engine, cached or pending, which stops their refreshes.
func (s *OidcFederationStrategy) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pending {
		p.eng.Close()
	}
	for _, el := range s.cache.items {
		el.Value.(*lruItem).eng.Close()
	}
	s.pending = map[string]*pendingEngine{}
	s.cache = newLRUCache(s.cache.capacity)
}

func (s *OidcFederationStrategy) String() string {
	return "OidcFederationStrategy(" + s.crn.String() + ")"
}

// jwtRefresher federates one JWT; renewal federates the same JWT again.
type jwtRefresher struct {
	cts         *ctsClient
	jwt         SecretToken
	digest      string
	workspaceID string
}

func (r *jwtRefresher) canRefresh(*Token) bool { return true }

func (r *jwtRefresher) refresh(ctx context.Context, _ *Token) (*Token, error) {
	t, err := r.cts.authorise(ctx, oidcBody{OidcToken: r.jwt, WorkspaceID: r.workspaceID}, r.jwt)
	if err != nil {
		return nil, err
	}
	t.FederatedFrom = r.digest
	return t, nil
}

// lruCache maps JWT digests to engines, evicting the least recently used.
type lruCache struct {
	capacity int
	order    *list.List // front = most recently used
	items    map[string]*list.Element
}

type lruItem struct {
	key string
	eng *Engine
}

func newLRUCache(capacity int) *lruCache {
	return &lruCache{capacity: capacity, order: list.New(), items: map[string]*list.Element{}}
}

func (c *lruCache) get(key string) (*Engine, bool) { return c.touch(c.items[key]) }

// getDigest is get for a digest in an array: the map lookup converts it without allocating.
func (c *lruCache) getDigest(d *jwtDigest) (*Engine, bool) { return c.touch(c.items[string(d[:])]) }

func (c *lruCache) touch(el *list.Element) (*Engine, bool) {
	if el == nil {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruItem).eng, true
}

func (c *lruCache) put(key string, eng *Engine) {
	if c.capacity == 0 {
		return
	}
	if el, ok := c.items[key]; ok {
		el.Value.(*lruItem).eng = eng
		c.order.MoveToFront(el)
		return
	}
	if c.order.Len() >= c.capacity {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*lruItem).key)
	}
	c.items[key] = c.order.PushFront(&lruItem{key: key, eng: eng})
}

func (c *lruCache) removeIf(key string, eng *Engine) {
	if el, ok := c.items[key]; ok && el.Value.(*lruItem).eng == eng {
		c.order.Remove(el)
		delete(c.items, key)
	}
}

func (c *lruCache) len() int { return c.order.Len() }

func (c *lruCache) engines() []*Engine {
	out := make([]*Engine, 0, c.order.Len())
	for el := c.order.Front(); el != nil; el = el.Next() {
		out = append(out, el.Value.(*lruItem).eng)
	}
	return out
}
