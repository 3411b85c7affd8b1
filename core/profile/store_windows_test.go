package profile

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// On Windows the profile lives under %USERPROFILE%\.cipherstash, as upstream's home_dir()
// gives it; HOME is what MSYS and Git Bash export (a /c/Users/... path) and is not used.
func TestResolveOnWindowsUsesUserProfileNotHOME(t *testing.T) {
	env := map[string]string{"USERPROFILE": `C:\Users\alice`, "HOME": "/c/Users/alice"}
	store, err := Resolve("", func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, `C:\Users\alice\.cipherstash`, store.Dir())
}

// A backslash CS_CONFIG_PATH is taken as it is, and files are named inside it.
func TestResolveOnWindowsKeepsABackslashConfigPath(t *testing.T) {
	store, err := Resolve("", func(k string) string {
		return map[string]string{"CS_CONFIG_PATH": `D:\cfg\cs`}[k]
	})
	require.NoError(t, err)
	assert.Equal(t, `D:\cfg\cs`, store.Dir())
	p, err := store.Path("auth.json")
	require.NoError(t, err)
	assert.Equal(t, `D:\cfg\cs\auth.json`, p)
}
