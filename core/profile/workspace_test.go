package profile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	wsA = "AAAAAAAAAAAAAAAA"
	wsB = "BBBBBBBBBBBBBBBB"
)

type wsData struct {
	Name string `json:"name"`
}

func TestWithNoWorkspaceSet(t *testing.T) {
	t.Run("current workspace returns NoCurrentWorkspace", func(t *testing.T) {
		_, err := New(t.TempDir()).CurrentWorkspace()
		requireKind(t, err, KindNoCurrentWorkspace)
	})
	t.Run("current workspace store returns NoCurrentWorkspace", func(t *testing.T) {
		_, err := New(t.TempDir()).CurrentWorkspaceStore()
		requireKind(t, err, KindNoCurrentWorkspace)
	})
	t.Run("clear current workspace succeeds", func(t *testing.T) {
		assert.NoError(t, New(t.TempDir()).ClearCurrentWorkspace())
	})
	t.Run("set current workspace returns WorkspaceNotFound", func(t *testing.T) {
		store := New(t.TempDir())
		pe := requireKind(t, store.SetCurrentWorkspace(wsA), KindWorkspaceNotFound)
		assert.Equal(t, wsA, pe.Name)
		assert.False(t, store.Exists(currentWorkspaceFile), "a failed switch writes nothing")
	})
	t.Run("init workspace creates dir and sets current", func(t *testing.T) {
		dir := t.TempDir()
		store := New(dir)
		ws, err := store.InitWorkspace(wsA)
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(dir, "workspaces", wsA), ws.Dir())
		assert.DirExists(t, filepath.Join(dir, "workspaces", wsA))

		id, err := store.CurrentWorkspace()
		require.NoError(t, err)
		assert.Equal(t, wsA, id)
	})
}

func TestWithWorkspaceSet(t *testing.T) {
	scenario := func(t *testing.T) (string, *Store) {
		dir := t.TempDir()
		store := New(dir)
		_, err := store.InitWorkspace(wsA)
		require.NoError(t, err)
		return dir, store
	}

	t.Run("returns workspace id", func(t *testing.T) {
		_, store := scenario(t)
		id, err := store.CurrentWorkspace()
		require.NoError(t, err)
		assert.Equal(t, wsA, id)
	})
	t.Run("current workspace store is scoped to workspaces/<id>", func(t *testing.T) {
		dir, store := scenario(t)
		ws, err := store.CurrentWorkspaceStore()
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(dir, "workspaces", wsA), ws.Dir())
	})
	t.Run("clear removes selection", func(t *testing.T) {
		_, store := scenario(t)
		require.NoError(t, store.ClearCurrentWorkspace())
		_, err := store.CurrentWorkspace()
		requireKind(t, err, KindNoCurrentWorkspace)
	})
	t.Run("save and load round-trip through the workspace store", func(t *testing.T) {
		dir, store := scenario(t)
		ws, err := store.CurrentWorkspaceStore()
		require.NoError(t, err)
		require.NoError(t, ws.Save("ws-data.json", wsData{Name: "hello"}))

		var got wsData
		require.NoError(t, ws.Load("ws-data.json", &got))
		assert.Equal(t, "hello", got.Name)
		assert.FileExists(t, filepath.Join(dir, "workspaces", wsA, "ws-data.json"))
		assert.False(t, store.Exists("ws-data.json"), "root store should not see workspace-scoped file")
	})
}

func TestCurrentWorkspaceFileContents(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string
		kind    ErrorKind
	}{
		{"trimmed", "  " + wsA + "\n", wsA, 0},
		{"empty means none", "", "", KindNoCurrentWorkspace},
		{"blank means none", " \n\t", "", KindNoCurrentWorkspace},
		{"invalid id", "../../etc", "", KindInvalidWorkspaceID},
		{"lowercase id", "aaaaaaaaaaaaaaaa", "", KindInvalidWorkspaceID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := New(t.TempDir())
			require.NoError(t, store.SaveBytes(currentWorkspaceFile, []byte(tt.content), 0o600))
			id, err := store.CurrentWorkspace()
			if tt.want != "" {
				require.NoError(t, err)
				assert.Equal(t, tt.want, id)
				return
			}
			requireKind(t, err, tt.kind)
		})
	}
}

func TestWithMultipleWorkspaces(t *testing.T) {
	scenario := func(t *testing.T) *Store {
		store := New(t.TempDir())
		for id, name := range map[string]string{wsA: "alpha", wsB: "bravo"} {
			ws, err := store.WorkspaceStore(id)
			require.NoError(t, err)
			require.NoError(t, ws.Save("ws-data.json", wsData{Name: name}))
		}
		return store
	}

	t.Run("switching changes the current workspace store's data", func(t *testing.T) {
		store := scenario(t)
		for id, want := range map[string]string{wsA: "alpha", wsB: "bravo"} {
			require.NoError(t, store.SetCurrentWorkspace(id))
			ws, err := store.CurrentWorkspaceStore()
			require.NoError(t, err)
			var got wsData
			require.NoError(t, ws.Load("ws-data.json", &got))
			assert.Equal(t, want, got.Name, "after switching to %s", id)
		}
	})
	t.Run("list workspaces returns sorted ids", func(t *testing.T) {
		ids, err := scenario(t).ListWorkspaces()
		require.NoError(t, err)
		assert.Equal(t, []string{wsA, wsB}, ids)
	})
}

func TestListWorkspaces(t *testing.T) {
	t.Run("empty when there is no workspaces dir", func(t *testing.T) {
		ids, err := New(t.TempDir()).ListWorkspaces()
		require.NoError(t, err)
		assert.Empty(t, ids)
	})
	t.Run("ignores files and invalid dirs", func(t *testing.T) {
		dir := t.TempDir()
		wsDir := filepath.Join(dir, "workspaces")
		require.NoError(t, os.MkdirAll(filepath.Join(wsDir, wsA), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(wsDir, "not-a-dir.txt"), nil, 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(wsDir, wsB), nil, 0o600)) // valid name, but a file
		require.NoError(t, os.Mkdir(filepath.Join(wsDir, "invalid-name"), 0o700))

		ids, err := New(dir).ListWorkspaces()
		require.NoError(t, err)
		assert.Equal(t, []string{wsA}, ids)
	})
}

func TestWorkspaceStore(t *testing.T) {
	t.Run("returns a store scoped to workspaces/<id> without creating it", func(t *testing.T) {
		dir := t.TempDir()
		ws, err := New(dir).WorkspaceStore(wsA)
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(dir, "workspaces", wsA), ws.Dir())
		assert.NoDirExists(t, ws.Dir())
	})
	t.Run("rejects an invalid id", func(t *testing.T) {
		_, err := New(t.TempDir()).WorkspaceStore("../escape")
		pe := requireKind(t, err, KindInvalidWorkspaceID)
		assert.Equal(t, "../escape", pe.Name)
	})
}

func TestSetCurrentWorkspaceRejects(t *testing.T) {
	t.Run("an invalid id", func(t *testing.T) {
		requireKind(t, New(t.TempDir()).SetCurrentWorkspace("../escape"), KindInvalidWorkspaceID)
	})
	t.Run("a file where the workspace dir should be", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "workspaces"), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "workspaces", wsA), nil, 0o600))
		requireKind(t, New(dir).SetCurrentWorkspace(wsA), KindWorkspaceNotFound)
	})
}

func TestWorkspaceIDValidation(t *testing.T) {
	tests := []struct {
		id    string
		valid bool
	}{
		{"ABCDEFGH234567AB", true},
		{wsA, true},
		{"ZVATKW3VHMFG27DY", true},
		{"abcdefgh234567ab", false}, // lowercase
		{"SHORT", false},
		{"", false},
		{"AAAAAAAAAAAAAAAAA", false}, // 17
		{"../escape.json..", false},
		{"0000000000000000", false}, // 0 and 1 are not base32
		{"1111111111111111", false},
		{"8888888888888888", false},
		{"AAAAAAAAAAAAAAÄ", false}, // 16 bytes, not 16 of the alphabet
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			assert.Equal(t, tt.valid, ValidWorkspaceID(tt.id))
			_, err := New(t.TempDir()).WorkspaceStore(tt.id)
			if tt.valid {
				assert.NoError(t, err)
			} else {
				requireKind(t, err, KindInvalidWorkspaceID)
			}
		})
	}
}

func TestMigrateToWorkspace(t *testing.T) {
	t.Run("moves legacy files into the workspace and selects it", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "auth.json"), []byte(`{"token":"old"}`), 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "secretkey.json"), []byte(`{"key":"old"}`), 0o600))
		store := New(dir)

		require.NoError(t, store.MigrateToWorkspace(wsA))

		wsDir := filepath.Join(dir, "workspaces", wsA)
		for name, content := range map[string]string{"auth.json": `{"token":"old"}`, "secretkey.json": `{"key":"old"}`} {
			assert.NoFileExists(t, filepath.Join(dir, name), "legacy %s should leave the root", name)
			got, err := os.ReadFile(filepath.Join(wsDir, name))
			require.NoError(t, err)
			assert.Equal(t, content, string(got))
		}
		id, err := store.CurrentWorkspace()
		require.NoError(t, err)
		assert.Equal(t, wsA, id)
	})
	t.Run("never overwrites an existing target", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "auth.json"), []byte(`{"token":"legacy"}`), 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "secretkey.json"), []byte(`{"key":"legacy"}`), 0o600))
		wsDir := filepath.Join(dir, "workspaces", wsA)
		require.NoError(t, os.MkdirAll(wsDir, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(wsDir, "auth.json"), []byte(`{"token":"existing"}`), 0o600))

		require.NoError(t, New(dir).MigrateToWorkspace(wsA))

		got, err := os.ReadFile(filepath.Join(wsDir, "auth.json"))
		require.NoError(t, err)
		assert.Equal(t, `{"token":"existing"}`, string(got), "workspace file should be unchanged")
		assert.FileExists(t, filepath.Join(dir, "auth.json"), "legacy file should remain when target exists")
		// The other file had no target yet, so it still moves.
		assert.FileExists(t, filepath.Join(wsDir, "secretkey.json"))
		assert.NoFileExists(t, filepath.Join(dir, "secretkey.json"))
	})
	t.Run("without legacy files still selects the workspace", func(t *testing.T) {
		store := New(t.TempDir())
		require.NoError(t, store.MigrateToWorkspace(wsA))
		id, err := store.CurrentWorkspace()
		require.NoError(t, err)
		assert.Equal(t, wsA, id)
	})
	t.Run("rejects an invalid id before touching anything", func(t *testing.T) {
		dir := t.TempDir()
		requireKind(t, New(dir).MigrateToWorkspace("../x"), KindInvalidWorkspaceID)
		assert.NoDirExists(t, filepath.Join(dir, "workspaces"))
	})
}
