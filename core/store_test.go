package stackauth

// docs/upstream.md 10.4, upstream token_store.rs, plus OpenStore (memory: and file:// URLs).

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func portStoreToken(accessToken string) *Token {
	return &Token{AccessToken: NewSecretToken(accessToken), TokenType: "Bearer", ExpiresAt: 4_000_000_000}
}

func TestTokenStores_InMemoryLoadReturnsNilWhenEmpty(t *testing.T) {
	tok, err := NewInMemoryTokenStore().Load(portCtx(t))
	require.NoError(t, err)
	assert.Nil(t, tok)
}

func TestTokenStores_InMemoryRoundTripPreservesExpiresAt(t *testing.T) {
	s := NewInMemoryTokenStore()
	require.NoError(t, s.Save(portCtx(t), portStoreToken("access-1")))
	tok, err := s.Load(portCtx(t))
	require.NoError(t, err)
	require.NotNil(t, tok)
	assert.Equal(t, uint64(4_000_000_000), tok.ExpiresAt)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.Equal(t, "access-1", tok.AccessToken.Reveal())
}

func TestTokenStores_InMemorySaveOverwritesPrevious(t *testing.T) {
	s := NewInMemoryTokenStore()
	require.NoError(t, s.Save(portCtx(t), portStoreToken("first")))
	require.NoError(t, s.Save(portCtx(t), portStoreToken("second")))
	tok, err := s.Load(portCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "second", tok.AccessToken.Reveal())
}

func TestTokenStores_InMemoryLoadReturnsAFreshCopyEachTime(t *testing.T) {
	s := NewInMemoryTokenStore()
	require.NoError(t, s.Save(portCtx(t), portStoreToken("access-1")))
	a, err := s.Load(portCtx(t))
	require.NoError(t, err)
	a.AccessToken.Zero()
	a.ExpiresAt = 1
	b, err := s.Load(portCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "access-1", b.AccessToken.Reveal(), "wiping a loaded copy must not wipe the store")
	assert.Equal(t, uint64(4_000_000_000), b.ExpiresAt)
}

func TestTokenStores_CallbackStoreInvokesLoadClosureOnEachCall(t *testing.T) {
	calls := 0
	s := NewTokenStoreFn(func(context.Context) (string, error) {
		calls++
		if calls == 1 {
			return "", nil
		}
		return `{"access_token":"from-callback","token_type":"Bearer","expires_at":4000000000}`, nil
	}, nil)

	first, err := s.Load(portCtx(t))
	require.NoError(t, err)
	assert.Nil(t, first)
	second, err := s.Load(portCtx(t))
	require.NoError(t, err)
	require.NotNil(t, second)
	assert.Equal(t, "from-callback", second.AccessToken.Reveal())
	assert.Equal(t, 2, calls, "one closure call per load")
}

func TestTokenStores_CallbackStoreForwardsSerialisedTokenToSaveClosure(t *testing.T) {
	var saved []string
	s := NewTokenStoreFn(nil, func(_ context.Context, tokenJSON string) error {
		saved = append(saved, tokenJSON)
		return nil
	})
	require.NoError(t, s.Save(portCtx(t), portStoreToken("access-1")))
	require.Len(t, saved, 1)
	assert.Contains(t, saved[0], `"expires_at":4000000000`)
	assert.Contains(t, saved[0], `"token_type":"Bearer"`)
	assert.Equal(t, `{"access_token":"access-1","token_type":"Bearer","expires_at":4000000000}`, saved[0], "compact JSON")
}

func TestTokenStores_CallbackStoreIgnoresInvalidJSONOnLoad(t *testing.T) {
	for _, raw := range []string{"not json", `{"access_token":`, `{}`, `[]`, `{"access_token":"a"}`} {
		s := NewTokenStoreFn(func(context.Context) (string, error) { return raw, nil }, nil)
		tok, err := s.Load(portCtx(t))
		assert.NoErrorf(t, err, "input %q is a silent miss", raw)
		assert.Nilf(t, tok, "input %q", raw)
	}
}

func TestTokenStores_CallbackStorePropagatesLoadAndSaveErrors(t *testing.T) {
	boom := errors.New("backend down")
	s := NewTokenStoreFn(func(context.Context) (string, error) { return "", boom },
		func(context.Context, string) error { return boom })
	_, err := s.Load(portCtx(t))
	assert.ErrorIs(t, err, boom)
	assert.ErrorIs(t, s.Save(portCtx(t), portStoreToken("a")), boom)
}

func TestTokenStores_NoStoreStoresNothing(t *testing.T) {
	var s TokenStore = NoStore{}
	require.NoError(t, s.Save(portCtx(t), portStoreToken("a")))
	tok, err := s.Load(portCtx(t))
	require.NoError(t, err)
	assert.Nil(t, tok)
}

// ---- OpenStore ----

func TestOpenStore_MemoryURLIsAnInMemoryStore(t *testing.T) {
	s, err := OpenStore("memory:")
	require.NoError(t, err)
	require.IsType(t, &InMemoryTokenStore{}, s)
	require.NoError(t, s.Save(portCtx(t), portStoreToken("a")))
	tok, err := s.Load(portCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "a", tok.AccessToken.Reveal())
}

func TestOpenStore_FileURLRoundTripsWithMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "token.json")
	s, err := OpenStore((&url.URL{Scheme: "file", Path: path}).String())
	require.NoError(t, err)

	tok, err := s.Load(portCtx(t))
	require.NoError(t, err)
	assert.Nil(t, tok, "a missing file is an empty store")

	want := portStoreToken("file-access")
	want.Region = testRegion
	require.NoError(t, s.Save(portCtx(t), want))
	assert.Equal(t, os.FileMode(0o600), portFileMode(t, path))

	got, err := s.Load(portCtx(t))
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, "file-access", got.AccessToken.Reveal())
	assert.Equal(t, uint64(4_000_000_000), got.ExpiresAt)
	assert.Equal(t, testRegion, got.Region)

	// Another store opened on the same URL (another process) sees the same token.
	other, err := OpenStore("file://" + path)
	require.NoError(t, err)
	got2, err := other.Load(portCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "file-access", got2.AccessToken.Reveal())
}

func TestOpenStore_FileStoreTightensAnExistingLooseFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.json")
	require.NoError(t, os.WriteFile(path, []byte("{}"), 0o644))
	s, err := OpenStore("file://" + path)
	require.NoError(t, err)
	require.NoError(t, s.Save(portCtx(t), portStoreToken("a")))
	assert.Equal(t, os.FileMode(0o600), portFileMode(t, path))
}

func TestOpenStore_FileStoreTreatsACorruptFileAsAMiss(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"access_token":"torn`), 0o600))
	s, err := OpenStore("file://" + path)
	require.NoError(t, err)
	tok, err := s.Load(portCtx(t))
	require.NoError(t, err)
	assert.Nil(t, tok)
}

func TestOpenStore_BadURLsAreInvalidURL(t *testing.T) {
	for _, raw := range []string{
		"",
		"ftp://example.com/token.json",
		"s3://bucket/token.json",
		"file:relative/token.json",
		"file://relative/token.json", // "relative" is a host
		"file:///",
		"file:///var/run/app/",
		"file://example.com/var/token.json",
		"%zz",
		"::not a url",
		"https://user:hunter2@example.com/token",
	} {
		t.Run(raw, func(t *testing.T) {
			s, err := OpenStore(raw)
			assert.Nil(t, s)
			ae := portRequireCode(t, err, CodeInvalidURL)
			assert.NotContains(t, ae.Error(), "hunter2", "credentials in a URL are never echoed")
		})
	}
}

func TestOpenStore_FileLocalhostHostIsAccepted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.json")
	s, err := OpenStore("file://localhost" + path)
	require.NoError(t, err)
	require.NoError(t, s.Save(portCtx(t), portStoreToken("a")))
	_, err = os.Stat(path)
	require.NoError(t, err)
}

func TestWindowsFileURLPathDropsTheSlashBeforeTheDrive(t *testing.T) {
	for in, want := range map[string]string{
		"/C:/Users/me/token.json": `C:\Users\me\token.json`,
		"/z:/tmp/x":               `z:\tmp\x`,
		"/no-drive/x":             `\no-drive\x`, // not absolute on Windows: OpenStore refuses it
		"/1:/x":                   `\1:\x`,
	} {
		if got := windowsFilePath(in); got != want {
			t.Errorf("windowsFilePath(%q) = %q, want %q", in, got, want)
		}
	}
}
