package stackauth_test

// A store never hands one credential's token to another (docs/architecture.md D2, issue 12 item 3):
// every store kind is scoped by workspace, key id and audience.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	stackauth "github.com/stackauth/stack-auth/core"
	"github.com/stackauth/stack-auth/emulator"
)

// jwtClaim reads one claim of a token's (unverified) payload.
func jwtClaim(t *testing.T, tok stackauth.ServiceToken, name string) string {
	t.Helper()
	parts := strings.Split(tok.Token().Reveal(), ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, json.Unmarshal(raw, &c))
	s, _ := c[name].(string)
	return s
}

// oneSlotStore is an upstream-shaped host store: one slot, blind to scopes.
type oneSlotStore struct {
	mu   sync.Mutex
	json string
}

func (s *oneSlotStore) fn() *stackauth.TokenStoreFn {
	return stackauth.NewTokenStoreFn(
		func(context.Context) (string, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.json, nil },
		func(_ context.Context, j string) error { s.mu.Lock(); defer s.mu.Unlock(); s.json = j; return nil })
}

func TestStoresAreScopedPerCredential(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	otherKey, err := w.emu.NewAccessKey(w.emu.WorkspaceID())
	require.NoError(t, err)

	stores := map[string]func(t *testing.T) stackauth.TokenStore{
		"memory": func(*testing.T) stackauth.TokenStore { return stackauth.NewInMemoryTokenStore() },
		"file": func(t *testing.T) stackauth.TokenStore {
			s, err := stackauth.OpenStore("file://" + filepath.Join(t.TempDir(), "token.json"))
			require.NoError(t, err)
			// Before the folder goes: the save follows the callers' wake-up (docs/architecture.md D3).
			t.Cleanup(func() { require.NoError(t, stackauth.Flush(context.Background())) })
			return s
		},
		"TokenStoreFn": func(*testing.T) stackauth.TokenStore { return (&oneSlotStore{}).fn() },
	}
	type cred struct {
		key, audience string
	}
	pairs := map[string][2]cred{
		"other key":      {{w.emu.AccessKey(), ""}, {otherKey, ""}},
		"other audience": {{w.emu.AccessKey(), "aud-a"}, {w.emu.AccessKey(), "aud-b"}},
	}
	for storeName, newStore := range stores {
		for pairName, pair := range pairs {
			t.Run(storeName+"/"+pairName, func(t *testing.T) {
				store := newStore(t)
				w.emu.ClearRequests()
				get := func(c cred) stackauth.ServiceToken {
					s, err := stackauth.NewAccessKeyStrategy(w.emu.WorkspaceCRN(), c.key,
						w.opts(stackauth.WithStore(store), stackauth.WithAudience(c.audience))...)
					require.NoError(t, err)
					defer s.Close()
					tok, err := s.GetToken(context.Background())
					require.NoError(t, err)
					return tok
				}
				a := get(pair[0])
				b := get(pair[1])
				assert.Equal(t, 2, w.emu.RequestCount("/api/authorise"), "each credential makes its own request")
				assert.False(t, a.Token().Equal(b.Token()), "the second credential was served the first one's token")
				subA, _ := a.Subject()
				subB, _ := b.Subject()
				if pair[0].key != pair[1].key {
					assert.NotEqual(t, subA, subB)
				} else {
					assert.Equal(t, pair[0].audience, jwtClaim(t, a, "aud"))
					assert.Equal(t, pair[1].audience, jwtClaim(t, b, "aud"))
				}
			})
		}
	}
}

// A store that keys by the scope it is asked for shares each credential's token with a
// later strategy of the same credential, and only with it.
func TestScopeAwareStoresShareWithinAScope(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	var mu sync.Mutex
	slots := map[string]string{}
	var scopes []string
	fnStore := stackauth.NewTokenStoreFn(
		func(ctx context.Context) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			scopes = append(scopes, stackauth.StoreScope(ctx))
			return slots[stackauth.StoreScope(ctx)], nil
		},
		func(ctx context.Context, j string) error {
			mu.Lock()
			defer mu.Unlock()
			slots[stackauth.StoreScope(ctx)] = j
			return nil
		})
	file, err := stackauth.OpenStore("file://" + filepath.Join(t.TempDir(), "token.json"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, stackauth.Flush(context.Background())) }) // before the folder goes
	for name, store := range map[string]stackauth.TokenStore{
		"memory": stackauth.NewInMemoryTokenStore(), "file": file, "TokenStoreFn": fnStore,
	} {
		t.Run(name, func(t *testing.T) {
			w.emu.ClearRequests()
			get := func(audience string) stackauth.ServiceToken {
				s, err := stackauth.NewAccessKeyStrategy(w.emu.WorkspaceCRN(), w.emu.AccessKey(),
					w.opts(stackauth.WithStore(store), stackauth.WithAudience(audience))...)
				require.NoError(t, err)
				defer s.Close()
				tok, err := s.GetToken(context.Background())
				require.NoError(t, err)
				return tok
			}
			a, b := get("aud-a"), get("aud-b")
			a2, b2 := get("aud-a"), get("aud-b")
			assert.Equal(t, 2, w.emu.RequestCount("/api/authorise"), "later strategies load their own scope's token")
			assert.True(t, a.Token().Equal(a2.Token()))
			assert.True(t, b.Token().Equal(b2.Token()))
			assert.Equal(t, "aud-b", jwtClaim(t, b2, "aud"))
		})
	}
	require.NotEmpty(t, scopes)
	for _, s := range scopes {
		assert.Contains(t, s, w.emu.WorkspaceID(), "the scope names the workspace")
		assert.NotContains(t, s, strings.SplitN(w.emu.AccessKey(), ".", 2)[1], "the scope holds no secret")
	}
}

// A token saved without a scope (by an older version) or for another scope is a miss.
func TestAStoredTokenWithoutItsScopeIsAMiss(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	legacy := w.emu.MintAccessToken(w.emu.WorkspaceID(), "CS|CSAKlegacy", 10*time.Minute)
	raw, _ := json.Marshal(map[string]any{"access_token": legacy, "token_type": "Bearer",
		"expires_at": w.clock.Now().Unix() + 600})
	for name, scope := range map[string]string{"no scope": "", "another scope": "some/other/scope"} {
		t.Run(name, func(t *testing.T) {
			w.emu.ClearRequests()
			stored := string(raw)
			if scope != "" {
				stored = strings.TrimSuffix(stored, "}") + `,"store_scope":"` + scope + `"}`
			}
			store := stackauth.NewTokenStoreFn(func(context.Context) (string, error) { return stored, nil }, nil)
			s, err := stackauth.NewAccessKeyStrategy(w.emu.WorkspaceCRN(), w.emu.AccessKey(), w.opts(stackauth.WithStore(store))...)
			require.NoError(t, err)
			defer s.Close()
			tok, err := s.GetToken(context.Background())
			require.NoError(t, err)
			assert.False(t, tok.Token().Reveal() == legacy, "the unscoped token was served")
			assert.Equal(t, 1, w.emu.RequestCount("/api/authorise"))
		})
	}
}
