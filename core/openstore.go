package stackauth

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/stackauth/stack-auth/core/profile"
)

// OpenStore opens a token store by URL, as CS_TOKEN_STORE and every binding's `store`
// option name it:
//
//	memory:             a store private to this process
//	file:///path/token  one file shared by every process on the host (0600, atomic writes,
//	                    refreshes coordinated with an advisory file lock)
//	redis://[user:pass@]host:port/db[?prefix=p&lock_ttl=30s&timeout=500ms]
//	                    shared by every host of a fleet (see RedisTokenStore)
func OpenStore(rawURL string) (TokenStore, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, newError(CodeInvalidURL, "token store: "+redactURL(rawURL))
	}
	switch u.Scheme {
	case "memory":
		return NewInMemoryTokenStore(), nil
	case "redis", "rediss":
		return OpenRedisStore(rawURL)
	case "file":
		path := filePathOfURL(u)
		if u.Host != "" && u.Host != "localhost" || !filepath.IsAbs(path) || strings.HasSuffix(u.Path, "/") {
			return nil, newError(CodeInvalidURL, "token store: a file store needs an absolute file path, e.g. file:///var/run/app/token.json")
		}
		return NewFileTokenStore(path), nil
	}
	return nil, newError(CodeInvalidURL, "token store: unsupported scheme "+strings.TrimSpace(u.Scheme)+"; use memory:, file:///path or redis://host:port/db")
}

// FileTokenStore keeps the token in one file, written atomically with mode 0600, so every
// process on a host can share it.
type FileTokenStore struct {
	dir  *profile.Store
	name string
}

func NewFileTokenStore(path string) *FileTokenStore {
	return &FileTokenStore{dir: profile.New(filepath.Dir(path)), name: filepath.Base(path)}
}

func (s *FileTokenStore) Load(context.Context) (*Token, error) {
	data, err := s.dir.LoadBytes(s.name)
	if err != nil {
		if profile.IsNotFound(err) {
			return nil, nil
		}
		return nil, storeError(err)
	}
	defer clear(data)
	t, err := decodeToken(data)
	if err != nil {
		return nil, nil // a torn or foreign file is a miss; the next save replaces it
	}
	return t, nil
}

func (s *FileTokenStore) Save(_ context.Context, t *Token) error {
	data, err := encodeToken(t)
	if err != nil {
		return err
	}
	defer clear(data)
	if err := s.dir.SaveBytes(s.name, data, 0o600); err != nil {
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
