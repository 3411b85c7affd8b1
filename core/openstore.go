package stackauth

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"sync"

	"github.com/stackauth/stack-auth/core/profile"
)

// OpenStore opens a token store by URL, as CS_TOKEN_STORE and every binding's `store`
// option name it:
//
//	memory:             a store private to this process
//	file:///path/token  one file shared by every process on the host (0600, atomic writes,
//	                    refreshes coordinated with an advisory file lock), a token per scope
//	redis://[user:pass@]host:port/db[?prefix=p&lock_ttl=30s&timeout=500ms]
//	rediss://, redis+sentinel://, redis+cluster://, rediss+sentinel://, rediss+cluster://
//	                    shared by every host of a fleet (see OpenRedisStore)
//
// A store that holds connections (Redis) is an io.Closer: close it when no strategy uses
// it. opts supply the environment (WithLookupEnv: SSL_CERT_FILE for rediss://).
func OpenStore(rawURL string, opts ...Option) (TokenStore, error) {
	if scheme, _, ok := strings.Cut(rawURL, "://"); ok && strings.HasPrefix(strings.ToLower(scheme), "redis") {
		return OpenRedisStore(rawURL, opts...) // url.Parse cannot read a host list
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, newError(CodeInvalidURL, "token store: "+redactURL(rawURL))
	}
	switch u.Scheme {
	case "memory":
		return NewInMemoryTokenStore(), nil
	case "file":
		path := filePathOfURL(u)
		if u.Host != "" && u.Host != "localhost" || !filepath.IsAbs(path) || strings.HasSuffix(u.Path, "/") {
			return nil, newError(CodeInvalidURL, "token store: a file store needs an absolute file path, e.g. file:///var/run/app/token.json")
		}
		return NewFileTokenStore(path), nil
	}
	return nil, newError(CodeInvalidURL, "token store: unsupported scheme "+strings.TrimSpace(u.Scheme)+"; use memory:, file:///path, redis://host:port/db, rediss://, redis+sentinel:// or redis+cluster://")
}

// FileTokenStore keeps one token per scope (see StoreScope) in one file, written
// atomically with mode 0600, so every process on a host can share it:
// {"tokens":{"<scope>":<Token JSON>}}. Expired entries are dropped on save. A file in
// another shape (a torn write, an older version's single token) reads as empty.
type FileTokenStore struct {
	dir  *profile.Store
	name string
	mu   sync.Mutex // serialises this process's read-modify-writes; Lock serialises processes
}

type fileTokens struct {
	Tokens map[string]json.RawMessage `json:"tokens"`
}

func NewFileTokenStore(path string) *FileTokenStore {
	return &FileTokenStore{dir: profile.New(filepath.Dir(path)), name: filepath.Base(path)}
}

// read returns the file's entries (empty when it is missing or not in this shape); the
// caller zeroes them with clearFileTokens.
func (s *FileTokenStore) read() (fileTokens, error) {
	var f fileTokens
	data, err := s.dir.LoadBytes(s.name)
	if err != nil {
		if profile.IsNotFound(err) {
			return f, nil
		}
		return f, storeError(err)
	}
	defer clear(data)
	if json.Unmarshal(data, &f) != nil {
		clearFileTokens(f)
		return fileTokens{}, nil // the next save replaces it
	}
	return f, nil
}

func clearFileTokens(f fileTokens) {
	for _, raw := range f.Tokens {
		clear(raw)
	}
}

func (s *FileTokenStore) Load(ctx context.Context) (*Token, error) {
	f, err := s.read()
	if err != nil {
		return nil, err
	}
	defer clearFileTokens(f)
	raw, ok := f.Tokens[StoreScope(ctx)]
	if !ok {
		return nil, nil
	}
	t, err := decodeToken(raw)
	if err != nil {
		return nil, nil // a foreign entry is a miss; the next save replaces it
	}
	return t, nil
}

// Save rewrites the file with t under its scope. The engine saves while holding Lock, so
// processes sharing the file do not lose each other's entries; were the lock unavailable,
// a lost entry costs its credential one request, never a wrong token.
func (s *FileTokenStore) Save(ctx context.Context, t *Token) error {
	data, err := encodeToken(t)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.read()
	if err != nil {
		clear(data)
		return err
	}
	defer clearFileTokens(f)
	if f.Tokens == nil {
		f.Tokens = map[string]json.RawMessage{}
	}
	now := unixNow()
	for scope, raw := range f.Tokens {
		var exp struct {
			ExpiresAt uint64 `json:"expires_at"`
		}
		if json.Unmarshal(raw, &exp) != nil || exp.ExpiresAt <= now {
			clear(raw)
			delete(f.Tokens, scope)
		}
	}
	scope := StoreScope(ctx)
	clear(f.Tokens[scope])
	f.Tokens[scope] = data
	out, err := json.Marshal(f)
	if err != nil {
		return NewInternalError("encoding the token file")
	}
	defer clear(out)
	if err := s.dir.SaveBytes(s.name, out, 0o600); err != nil {
		return storeError(err)
	}
	return nil
}

// Lock takes an exclusive advisory lock on a sibling ".<name>.lock" file.
func (s *FileTokenStore) Lock(ctx context.Context) (func(), error) {
	unlock, err := s.dir.Lock(ctx, s.name)
	if err != nil {
		return nil, storeError(err)
	}
	return unlock, nil
}

func (s *FileTokenStore) String() string {
	return "FileTokenStore(" + filepath.Join(s.dir.Dir(), s.name) + ")"
}
