package profile

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type testData struct {
	Name  string `json:"name"`
	Value int    `json:"value"`
}

// requireKind asserts err is a *Error of the given kind and returns it.
func requireKind(t *testing.T, err error, kind ErrorKind) *Error {
	t.Helper()
	var pe *Error
	require.ErrorAs(t, err, &pe)
	require.Equal(t, kind, pe.Kind, "error: %v", err)
	return pe
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	require.NoError(t, err)
	return info.Mode().Perm()
}

func TestRoundTripSaveAndLoad(t *testing.T) {
	store := New(t.TempDir())
	want := testData{Name: "hello", Value: 42}
	require.NoError(t, store.Save("data.json", want))

	var got testData
	require.NoError(t, store.Load("data.json", &got))
	assert.Equal(t, want, got)
}

func TestSaveWritesPrettyJSONWithoutHTMLEscaping(t *testing.T) {
	store := New(t.TempDir())
	require.NoError(t, store.Save("data.json", testData{Name: "<a&b>", Value: 1}))

	raw, err := store.LoadBytes("data.json")
	require.NoError(t, err)
	assert.Equal(t, "{\n  \"name\": \"<a&b>\",\n  \"value\": 1\n}\n", string(raw))
}

func TestSaveBytesRoundTripsRawBytes(t *testing.T) {
	store := New(t.TempDir())
	require.NoError(t, store.SaveBytes("raw", []byte("not json"), 0o600))

	got, err := store.LoadBytes("raw")
	require.NoError(t, err)
	assert.Equal(t, "not json", string(got))
	assert.Equal(t, os.FileMode(0o600), fileMode(t, filepath.Join(store.Dir(), "raw")))
}

func TestLoadReturnsNotFoundForMissingFile(t *testing.T) {
	store := New(t.TempDir())

	var got testData
	err := store.Load("missing.json", &got)
	pe := requireKind(t, err, KindNotFound)
	assert.Equal(t, filepath.Join(store.Dir(), "missing.json"), pe.Path)
	assert.Equal(t, "Profile not found: "+pe.Path, err.Error())
	assert.True(t, IsNotFound(err))
	assert.ErrorIs(t, err, fs.ErrNotExist, "the OS error stays reachable")

	_, err = store.LoadBytes("missing.json")
	assert.True(t, IsNotFound(err))
}

func TestClearRemovesExistingFile(t *testing.T) {
	store := New(t.TempDir())
	require.NoError(t, store.Save("data.json", testData{Name: "x", Value: 1}))
	require.True(t, store.Exists("data.json"))

	require.NoError(t, store.Clear("data.json"))
	assert.False(t, store.Exists("data.json"))
}

func TestClearSucceedsForMissingFile(t *testing.T) {
	store := New(t.TempDir())
	assert.NoError(t, store.Clear("missing.json"))
}

func TestSaveCreatesDirectory(t *testing.T) {
	store := New(filepath.Join(t.TempDir(), "nested", "dir"))
	require.NoError(t, store.Save("data.json", testData{Name: "nested", Value: 99}))

	var got testData
	require.NoError(t, store.Load("data.json", &got))
	assert.Equal(t, "nested", got.Name)
	assert.Equal(t, os.FileMode(0o700), fileMode(t, store.Dir()), "new profile dirs are owner-only")
}

func TestExistsReturnsFalseForMissingFile(t *testing.T) {
	assert.False(t, New(t.TempDir()).Exists("missing.json"))
}

func TestDefaultIsHomeDotCipherstash(t *testing.T) {
	home := t.TempDir()
	t.Setenv(homeEnv, home)
	t.Setenv(configPathEnv, "")

	store, err := Resolve("", nil)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(home, ".cipherstash"), store.Dir())
}

func TestResolvePrecedence(t *testing.T) {
	tests := []struct {
		name     string
		explicit string
		env      map[string]string
		want     string
	}{
		{"explicit overrides all", "/tmp/custom", map[string]string{"CS_CONFIG_PATH": "/env/path", homeEnv: "/home/u"}, "/tmp/custom"},
		{"CS_CONFIG_PATH overrides HOME", "", map[string]string{"CS_CONFIG_PATH": "/env/path", homeEnv: "/home/u"}, "/env/path"},
		{"empty CS_CONFIG_PATH is absent", "", map[string]string{"CS_CONFIG_PATH": "", homeEnv: "/home/u"}, filepath.Join("/home/u", ".cipherstash")},
		{"blank CS_CONFIG_PATH is absent", "", map[string]string{"CS_CONFIG_PATH": " \t\n", homeEnv: "/home/u"}, filepath.Join("/home/u", ".cipherstash")},
		{"HOME when nothing else", "", map[string]string{homeEnv: "/home/u"}, filepath.Join("/home/u", ".cipherstash")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, err := Resolve(tt.explicit, func(k string) string { return tt.env[k] })
			require.NoError(t, err)
			assert.Equal(t, tt.want, store.Dir())
		})
	}
}

func TestResolveWithoutHomeIsHomeDirNotFound(t *testing.T) {
	t.Setenv(homeEnv, "") // the os.UserHomeDir fallback reads it too
	_, err := Resolve("", func(string) string { return "" })
	pe := requireKind(t, err, KindHomeDirNotFound)
	assert.Equal(t, "Could not determine home directory", pe.Error())
}

func TestFilenameValidation(t *testing.T) {
	bad := []string{
		"",               // rejects_empty_string
		"/etc/passwd",    // rejects_absolute_path
		"../escape.json", // rejects_parent_traversal
		"sub/file.json",  // rejects_path_with_separator
		"..",
		".",
		`sub\file.json`,
		"nul\x00byte",
	}
	ops := map[string]func(s *Store, name string) error{
		"Save":      func(s *Store, n string) error { return s.Save(n, testData{}) },
		"SaveBytes": func(s *Store, n string) error { return s.SaveBytes(n, []byte("{}"), 0o600) },
		"Load":      func(s *Store, n string) error { var v testData; return s.Load(n, &v) },
		"LoadBytes": func(s *Store, n string) error { _, err := s.LoadBytes(n); return err },
		"Clear":     func(s *Store, n string) error { return s.Clear(n) },
		"Path":      func(s *Store, n string) error { _, err := s.Path(n); return err },
		"LockPath":  func(s *Store, n string) error { _, err := s.LockPath(n); return err },
		"Lock": func(s *Store, n string) error {
			unlock, err := s.Lock(context.Background(), n)
			if err == nil {
				unlock()
			}
			return err
		},
	}
	for opName, op := range ops {
		for _, name := range bad {
			t.Run(opName+"/"+strconv.Quote(name), func(t *testing.T) {
				root := t.TempDir()
				store := New(filepath.Join(root, "profile"))
				pe := requireKind(t, op(store, name), KindInvalidFilename)
				assert.Equal(t, name, pe.Name)
				assert.Equal(t, "Invalid filename: "+name, pe.Error())
				assert.Equal(t, "stack_profile::invalid_filename", pe.Code())
				assert.False(t, store.Exists(name), "exists_returns_false_for_invalid_filename")

				entries, err := os.ReadDir(root)
				require.NoError(t, err)
				assert.Empty(t, entries, "a rejected name must not touch the disk")
			})
		}
	}
}

func TestAcceptsPlainFilename(t *testing.T) {
	store := New(t.TempDir())
	for _, name := range []string{"valid.json", ".hidden", "a..b", "auth.json"} {
		require.NoError(t, store.Save(name, testData{Name: "ok", Value: 1}), name)
		var got testData
		require.NoError(t, store.Load(name, &got), name)
		assert.Equal(t, "ok", got.Name)
	}
}

func TestSaveWithModeSetsExactPermissions(t *testing.T) {
	// 0660 and 0606 would lose bits to the usual 022 umask if the mode came
	// only from open(2); the explicit chmod must deliver them exactly.
	for _, mode := range []os.FileMode{0o600, 0o660, 0o606, 0o400} {
		t.Run(mode.String(), func(t *testing.T) {
			store := New(t.TempDir())
			require.NoError(t, store.SaveWithMode("secret.json", testData{Name: "secret"}, mode))
			assert.Equal(t, mode, fileMode(t, filepath.Join(store.Dir(), "secret.json")))
		})
	}
}

func TestSaveDefaultsToOwnerOnly(t *testing.T) {
	store := New(t.TempDir())
	require.NoError(t, store.Save("auth.json", testData{}))
	assert.Equal(t, os.FileMode(0o600), fileMode(t, filepath.Join(store.Dir(), "auth.json")))
}

func TestSaveWithModeTightensExistingPermissions(t *testing.T) {
	store := New(t.TempDir())
	path := filepath.Join(store.Dir(), "secret.json")
	require.NoError(t, store.Save("secret.json", testData{Name: "v1", Value: 1}))
	require.NoError(t, os.Chmod(path, 0o644))
	require.Equal(t, os.FileMode(0o644), fileMode(t, path))

	require.NoError(t, store.SaveWithMode("secret.json", testData{Name: "v2", Value: 2}, 0o600))
	assert.Equal(t, os.FileMode(0o600), fileMode(t, path), "permissions should be tightened on existing file")

	var got testData
	require.NoError(t, store.Load("secret.json", &got))
	assert.Equal(t, "v2", got.Name)
}

// tempFiles lists the staging files writeAtomic may have left in dir.
func tempFiles(t *testing.T, dir, target string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var left []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "."+target+".tmp.") {
			left = append(left, e.Name())
		}
	}
	return left
}

func TestFailedWriteRemovesTempFile(t *testing.T) {
	store := New(t.TempDir())
	// A non-empty directory where the file should go makes the final rename
	// fail after the temp file has been written.
	require.NoError(t, os.MkdirAll(filepath.Join(store.Dir(), "auth.json", "child"), 0o700))

	err := store.Save("auth.json", testData{Name: "x"})
	pe := requireKind(t, err, KindIO)
	assert.Equal(t, "stack_profile::io", pe.Code())
	assert.Empty(t, tempFiles(t, store.Dir(), "auth.json"))
}

type failingMarshaler struct{}

func (failingMarshaler) MarshalJSON() ([]byte, error) {
	return nil, errors.New("cannot encode sk-SECRET-MARSHAL")
}

func TestSaveEncodeErrorDoesNotQuoteTheValue(t *testing.T) {
	store := New(t.TempDir())
	err := store.Save("auth.json", failingMarshaler{})
	pe := requireKind(t, err, KindJSON)
	assert.NotContains(t, chainText(err), "SECRET")
	assert.Equal(t, "stack_profile::json", pe.Code())
	assert.False(t, store.Exists("auth.json"))
	assert.Empty(t, tempFiles(t, store.Dir(), "auth.json"))
}

// chainText is everything a caller could print: the error and every cause.
func chainText(err error) string {
	var b strings.Builder
	for e := err; e != nil; e = errors.Unwrap(e) {
		b.WriteString(e.Error())
		b.WriteString(" | ")
	}
	return b.String()
}

func TestLoadJSONErrorNeverQuotesTheFile(t *testing.T) {
	const marker = "SECRET"
	tests := []struct {
		name     string
		content  string
		category string
		line     int
		column   int
	}{
		{"syntax", `{"access_token": sk-SECRET-123}`, "syntax error", 1, 18},
		{"syntax on a later line", "{\n  \"name\": \"x\",\n  \"value\": SECRET\n}", "syntax error", 3, 12},
		{"string where a number belongs", `{"value": "SECRET-value"}`, "data error", 1, 24},
		{"number where a string belongs", `{"name": 4242SECRET}`, "syntax error", 1, 14},
		{"number value quoted by the decoder", `{"name": 987654321}`, "data error", 1, 18},
		{"truncated", `{"name": "SECRET`, "unexpected end of input", 1, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := New(t.TempDir())
			require.NoError(t, store.SaveBytes("auth.json", []byte(tt.content), 0o600))

			var got testData
			err := store.Load("auth.json", &got)
			pe := requireKind(t, err, KindJSON)
			assert.Equal(t, "stack_profile::json", pe.Code())
			assert.Equal(t, filepath.Join(store.Dir(), "auth.json"), pe.Path)

			text := chainText(err)
			assert.NotContains(t, text, marker)
			assert.NotContains(t, text, "987654321")

			var je *JSONError
			require.ErrorAs(t, err, &je)
			assert.Equal(t, tt.category, je.Category)
			assert.Equal(t, tt.line, je.Line)
			assert.Equal(t, tt.column, je.Column)
			assert.Equal(t, "JSON error: "+tt.category+" at line "+strconv.Itoa(tt.line)+" column "+strconv.Itoa(tt.column), err.Error())
		})
	}
}

// Eight writers each replace one 64 KiB file 50 times while readers load it
// in a loop: every read must be one writer's complete value, and no staging
// file may be left behind.
func TestConcurrentWritesNeverExposeTornContent(t *testing.T) {
	const (
		writers     = 8
		readers     = 2
		iterations  = 50
		payloadSize = 64 * 1024
	)
	type big struct {
		Payload string `json:"payload"`
		Writer  int    `json:"writer"`
	}
	value := func(writer int) big {
		// The writer id is the payload's only character, so mixing two
		// writers' bytes shows up as foreign characters.
		return big{Payload: strings.Repeat(strconv.FormatInt(int64(writer), 16), payloadSize), Writer: writer}
	}

	store := New(t.TempDir())
	// Seed so readers always have a file, even before the first writer lands.
	require.NoError(t, store.Save("contended.json", value(0)))

	done := make(chan struct{})
	var reads atomic.Int64
	var readersWG sync.WaitGroup
	for range readers {
		readersWG.Add(1)
		go func() {
			defer readersWG.Done()
			for {
				var got big
				if !assert.NoError(t, store.Load("contended.json", &got), "reader saw an I/O or parse error") {
					return
				}
				want := strconv.FormatInt(int64(got.Writer), 16)
				if !assert.Len(t, got.Payload, payloadSize, "torn write: payload truncated") ||
					!assert.Empty(t, strings.ReplaceAll(got.Payload, want, ""), "torn write: writer %d payload has foreign content", got.Writer) {
					return
				}
				reads.Add(1)
				select {
				case <-done:
					return
				default:
				}
			}
		}()
	}

	var writersWG sync.WaitGroup
	for w := range writers {
		writersWG.Add(1)
		go func() {
			defer writersWG.Done()
			for range iterations {
				if !assert.NoError(t, store.Save("contended.json", value(w))) {
					return
				}
			}
		}()
	}
	writersWG.Wait()
	close(done)
	readersWG.Wait()

	assert.Positive(t, reads.Load())
	var final big
	require.NoError(t, store.Load("contended.json", &final))
	assert.Len(t, final.Payload, payloadSize)
	assert.Empty(t, tempFiles(t, store.Dir(), "contended.json"), "temp staging files leaked")
}
