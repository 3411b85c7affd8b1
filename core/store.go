package stackauth

// Persistence: where tokens live between processes (spec section 6). Stores hold the
// Token JSON of spec 3.1; the engine alone decides freshness.

import (
	"context"
	"encoding/json"
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

// BindableStore is a store shared by many credentials (Redis). A strategy binds it to its
// own credential: scope names the credential (never secret), secret keys what is stored, so
// one credential never reads another's token.
type BindableStore interface {
	TokenStore
	Bind(scope string, secret []byte) TokenStore
}

// bindStore gives a strategy its own view of a shared store.
func bindStore(s TokenStore, scope string, secret []byte) TokenStore {
	if b, ok := s.(BindableStore); ok {
		return b.Bind(scope, secret)
	}
	return s
}

// NoStore stores nothing.
type NoStore struct{}

func (NoStore) Load(context.Context) (*Token, error) { return nil, nil }
func (NoStore) Save(context.Context, *Token) error   { return nil }
func (NoStore) String() string                       { return "NoStore" }

// InMemoryTokenStore keeps the token's JSON (zeroed on overwrite); each Load decodes a
// fresh copy, so callers never share a Token.
type InMemoryTokenStore struct {
	mu   sync.Mutex
	data []byte
}

func NewInMemoryTokenStore() *InMemoryTokenStore { return &InMemoryTokenStore{} }

func (s *InMemoryTokenStore) Load(context.Context) (*Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data == nil {
		return nil, nil
	}
	return decodeToken(s.data)
}

func (s *InMemoryTokenStore) Save(_ context.Context, t *Token) error {
	data, err := encodeToken(t)
	if err != nil {
		return err
	}
	s.mu.Lock()
	clear(s.data)
	s.data = data
	s.mu.Unlock()
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
// nothing stored. JSON that does not decode is a silent miss: the error is not logged,
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
