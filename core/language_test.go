package stackauth

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A missing CRN names the caller's own API: never a Rust builder outside Rust.
func TestMissingCrnHelpNamesTheCallersAPI(t *testing.T) {
	_, err := DetectAutoStrategy(WithAccessKey("CSAKkeyid.secret"), WithLookupEnv(func(string) (string, bool) { return "", false }))
	require.Error(t, err)
	ae := AsAuthError(err)
	require.Equal(t, CodeMissingWorkspaceCrn, ae.Code)
	assert.Contains(t, ae.Help, "stackauth.WithWorkspaceCrn", "Go callers get Go's API")

	want := map[Language]string{
		LanguageGo:     "stackauth.WithWorkspaceCrn",
		LanguageC:      `"workspaceCrn"`,
		LanguageRust:   "AutoStrategyBuilder::with_workspace_crn",
		LanguageNode:   "AutoStrategy.detect({ workspaceCrn",
		LanguagePython: "AutoStrategy.detect(workspace_crn=",
		LanguageRuby:   "AutoStrategy.detect(workspace_crn:",
	}
	for _, l := range Languages {
		got := ae.ForLanguage(l)
		assert.Equal(t, CodeMissingWorkspaceCrn, got.Code)
		assert.Contains(t, got.Help, want[l], "language %s", l)
		if l != LanguageRust {
			assert.NotContains(t, got.Help+got.Message, "AutoStrategyBuilder", "language %s names a Rust function", l)
		}
	}
	// Rust hosts keep upstream's text exactly.
	rust := ae.ForLanguage(LanguageRust)
	assert.Equal(t, "Workspace CRN is required when using an access key — set CS_WORKSPACE_CRN or call AutoStrategyBuilder::with_workspace_crn", rust.Message)
	// The original is unchanged, and a code without per-language text is returned as it is.
	assert.Contains(t, ae.Help, "stackauth.WithWorkspaceCrn")
	other := newError(CodeInvalidCrn, "x")
	assert.Same(t, other, other.ForLanguage(LanguageNode))
	assert.False(t, strings.Contains(ae.Message, "AutoStrategyBuilder"))
}
