package stackauth

// Persistence: where tokens live between processes (docs/protocol.md 6). Stores hold the
// Token JSON of docs/protocol.md 3.1; the engine alone decides freshness.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
)

// TokenStore persists the token of an engine. Load returns (nil, nil) when nothing is
// stored; an error is treated as "nothing stored" by the engine and reported as an event.
// Save errors are reported and otherwise ignored. Implementations must be safe for
// concurrent use.
type TokenStore interface {
	Load(ctx context.Context) (*Token, error)
	Save(ctx context.Context, t *Token) error
}

// LockingStore is a TokenStore that coordinates refreshes across processes. With one, the
// engine refreshes as lock → re-load → use the stored token if it is still fresh → else
// refresh → save → unlock, so a fleet sharing the store makes one request per refresh
// window. A lock that cannot be had in time degrades to a local refresh, never to an error.
type LockingStore interface {
	TokenStore
	Lock(ctx context.Context) (unlock func(), err error)
}

// BindableStore is a store that derives per-credential state from the scope (Redis: its
// key and a sealing key derived from secret, so a reader of Redis learns nothing).
type BindableStore interface {
	TokenStore
	Bind(scope string, secret []byte) TokenStore
}

// A scope names the credential a strategy's store calls are for, so a store shared by
// several credentials keeps one token per credential (docs/architecture.md D2). It is never secret:
//
//	access-key/<workspace id>/<key id>/<audience>
//	oidc/<workspace id>/<hex SHA-256 of the provider JWT>
//
// each part percent-escaped, so "/" only separates. OIDC exchanges carry no audience.
func accessKeyScope(workspaceID, keyID, audience string) string {
	return "access-key/" + url.PathEscape(workspaceID) + "/" + url.PathEscape(keyID) + "/" + url.PathEscape(audience)
}

func oidcScope(workspaceID, jwtDigest string) string {
	return "oidc/" + url.PathEscape(workspaceID) + "/" + jwtDigest
}

type storeScopeKey struct{}

// StoreScope is the scope a strategy's call to a store is for ("" outside one). A store
// shared by several credentials keys what it keeps by it (the built-in stores do); one
// that ignores it still never serves a token across scopes, because each saved token
// carries its scope (Token.StoreScope) and a token loaded for another scope is a miss.
func StoreScope(ctx context.Context) string {
	s, _ := ctx.Value(storeScopeKey{}).(string)
	return s
}

// bindStore gives a strategy its own view of a shared store, for one scope: the scope
// travels in the context of each call, saved tokens are stamped with it, and a loaded
// token stamped with another scope (or none: saved by an older version) is a miss.
func bindStore(s TokenStore, scope string, secret []byte) TokenStore {
	if b, ok := s.(BindableStore); ok {
		s = b.Bind(scope, secret)
	}
	v := scopedStore{inner: s, scope: scope}
	if ls, ok := s.(LockingStore); ok {
		return &scopedLockingStore{scopedStore: v, lock: ls}
	}
	return &v
}

type scopedStore struct {
	inner TokenStore
	scope string
}

func (v *scopedStore) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, storeScopeKey{}, v.scope)
}

func (v *scopedStore) Load(ctx context.Context) (*Token, error) {
	t, err := v.inner.Load(v.ctx(ctx))
	if err != nil || t == nil || t.StoreScope != v.scope {
		return nil, err
	}
	return t, nil
}

func (v *scopedStore) Save(ctx context.Context, t *Token) error {
	if t == nil {
		return NewInternalError("nil token")
	}
	stamped := *t
	stamped.StoreScope = v.scope
	return v.inner.Save(v.ctx(ctx), &stamped)
}

func (v *scopedStore) String() string { return fmt.Sprint(v.inner) }

func (v *scopedStore) unwrap() TokenStore { return v.inner }

type scopedLockingStore struct {
	scopedStore
	lock LockingStore
}

func (v *scopedLockingStore) Lock(ctx context.Context) (func(), error) {
	return v.lock.Lock(v.ctx(ctx))
}

// NoStore stores nothing.
type NoStore struct{}

func (NoStore) Load(context.Context) (*Token, error) { return nil, nil }
func (NoStore) Save(context.Context, *Token) error   { return nil }
func (NoStore) String() string                       { return "NoStore" }

// InMemoryTokenStore keeps each scope's token JSON (zeroed on overwrite); each Load
// decodes a fresh copy, so callers never share a Token. Expired entries are dropped on
// save, so many scopes (OIDC callers) do not accumulate.
type InMemoryTokenStore struct {
	mu    sync.Mutex
	slots map[string]memorySlot
}

type memorySlot struct {
	data      []byte
	expiresAt uint64
}

func NewInMemoryTokenStore() *InMemoryTokenStore { return &InMemoryTokenStore{} }

func (s *InMemoryTokenStore) Load(ctx context.Context) (*Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	slot, ok := s.slots[StoreScope(ctx)]
	if !ok {
		return nil, nil
	}
	return decodeToken(slot.data)
}

func (s *InMemoryTokenStore) Save(ctx context.Context, t *Token) error {
	data, err := encodeToken(t)
	if err != nil {
		return err
	}
	now := unixNow()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.slots == nil {
		s.slots = map[string]memorySlot{}
	}
	for scope, slot := range s.slots {
		if slot.expiresAt <= now {
			clear(slot.data)
			delete(s.slots, scope)
		}
	}
	scope := StoreScope(ctx)
	clear(s.slots[scope].data)
	s.slots[scope] = memorySlot{data: data, expiresAt: t.ExpiresAt}
	return nil
}

func (s *InMemoryTokenStore) String() string { return "InMemoryTokenStore" }

func encodeToken(t *Token) ([]byte, error) {
	if t == nil {
		return nil, NewInternalError("nil token")
	}
	return json.Marshal(t)
}

// TokenStoreFn adapts two functions into a store. load returns the stored JSON, or "" for
// nothing stored. A function shared by several strategies keys what it keeps by
// StoreScope(ctx); one that ignores it is still safe (see StoreScope), at the cost of a
// request whenever another credential saved last. JSON that does not decode is a silent miss: the error is not logged,
// as it could quote fragments of a token.
type TokenStoreFn struct {
	load func(ctx context.Context) (string, error)
	save func(ctx context.Context, tokenJSON string) error
}

func NewTokenStoreFn(load func(ctx context.Context) (string, error), save func(ctx context.Context, tokenJSON string) error) *TokenStoreFn {
	return &TokenStoreFn{load: load, save: save}
}

func (s *TokenStoreFn) Load(ctx context.Context) (*Token, error) {
	if s.load == nil {
		return nil, nil
	}
	raw, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	t, err := decodeToken([]byte(raw))
	if err != nil {
		return nil, nil
	}
	return t, nil
}

func (s *TokenStoreFn) Save(ctx context.Context, t *Token) error {
	if s.save == nil {
		return nil
	}
	data, err := encodeToken(t)
	if err != nil {
		return err
	}
	defer clear(data)
	return s.save(ctx, string(data))
}

func (s *TokenStoreFn) String() string { return "TokenStoreFn" }
