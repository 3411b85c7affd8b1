// Package profile is the CipherStash profile directory: $CS_CONFIG_PATH or
// ~/.cipherstash, holding current_workspace, device.json and one
// workspaces/<WSID>/ directory per logged-in workspace (auth.json,
// secretkey.json and the .auth.json.lock refresh lock).
//
// The store is generic: it saves and loads any JSON value by file name and
// knows nothing about tokens. Writes are atomic (temp file + rename), files
// holding secrets get an exact mode regardless of umask, and no error message
// ever quotes a file's contents.
package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const (
	configPathEnv  = "CS_CONFIG_PATH"
	defaultDirName = ".cipherstash"

	// SecretFileMode is the mode for files that hold credentials
	// (auth.json, secretkey.json, device.json).
	SecretFileMode os.FileMode = 0o600
	// dirMode is used only for directories this package creates: they hold
	// secrets, so owner-only. Existing directories keep their mode.
	dirMode os.FileMode = 0o700
)

// Store is one profile directory: the root (~/.cipherstash) or a workspace
// directory below it. It holds no open files and is safe for concurrent use.
type Store struct {
	dir string

	// onLockWait, if set, is called once when Lock first finds the lock held.
	// Tests use it to cancel a waiter at a known point instead of sleeping.
	onLockWait func()
}

// New returns a store rooted at dir. Nothing is created until a write.
func New(dir string) *Store { return &Store{dir: dir} }

// Resolve picks the profile root: explicit (if non-empty), else
// $CS_CONFIG_PATH (if non-blank), else $HOME/.cipherstash (%USERPROFILE%\.cipherstash
// on Windows). getenv reads the environment (nil means os.Getenv); the home
// variable falls back to os.UserHomeDir.
func Resolve(explicit string, getenv func(string) string) (*Store, error) {
	if explicit != "" {
		return New(explicit), nil
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	// Blank counts as unset: an exported-but-empty variable must not turn
	// the profile into the current directory.
	if p := getenv(configPathEnv); strings.TrimSpace(p) != "" {
		return New(p), nil
	}
	home := getenv(homeEnv)
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil || h == "" {
			return nil, &Error{Kind: KindHomeDirNotFound, Err: err}
		}
		home = h
	}
	return New(filepath.Join(home, defaultDirName)), nil
}

// Dir is the directory this store reads and writes.
func (s *Store) Dir() string { return s.dir }

// Path joins name to the store directory after checking that name is one
// plain file name.
func (s *Store) Path(name string) (string, error) {
	if err := validateFilename(name); err != nil {
		return "", err
	}
	return filepath.Join(s.dir, name), nil
}

// validateFilename rejects anything that is not a single path component, so
// a name can never address a file outside the store directory. Backslash is
// rejected on every platform so that a name valid here is valid on Windows.
func validateFilename(name string) error {
	if name == "" || name == "." || name == ".." ||
		filepath.IsAbs(name) || strings.ContainsAny(name, "/\\\x00") ||
		filepath.VolumeName(name) != "" {
		return &Error{Kind: KindInvalidFilename, Name: name}
	}
	return nil
}

// Save writes v as pretty JSON to name with mode 0600.
func (s *Store) Save(name string, v any) error {
	return s.SaveWithMode(name, v, SecretFileMode)
}

// SaveWithMode writes v as pretty JSON to name, atomically, with exactly
// mode's permission bits (umask cannot widen or narrow them).
func (s *Store) SaveWithMode(name string, v any, mode os.FileMode) error {
	path, err := s.Path(name)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	// serde_json does not escape <, > and &; neither do we, so files written
	// by either implementation are byte-identical.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// The encoder's message can include the value (a MarshalJSON error
		// or an unsupported float), and the value may be a token.
		return &Error{Kind: KindJSON, Path: path, Err: &JSONError{Category: "data error"}}
	}
	data := buf.Bytes()
	defer clear(data) // best effort: the encoded value may hold secrets
	return s.writeAtomic(path, data, mode)
}

// SaveBytes writes data to name with the same atomic write as Save.
func (s *Store) SaveBytes(name string, data []byte, mode os.FileMode) error {
	path, err := s.Path(name)
	if err != nil {
		return err
	}
	return s.writeAtomic(path, data, mode)
}

// Load reads name and decodes its JSON into v. A missing file is a
// KindNotFound error; invalid JSON is KindJSON with a position, never text.
func (s *Store) Load(name string, v any) error {
	data, err := s.LoadBytes(name)
	if err != nil {
		return err
	}
	defer clear(data) // best effort: the file may hold secrets
	if err := json.Unmarshal(data, v); err != nil {
		return &Error{Kind: KindJSON, Path: filepath.Join(s.dir, name), Err: describeJSONError(err, data)}
	}
	return nil
}

// LoadBytes returns the raw contents of name.
func (s *Store) LoadBytes(name string) ([]byte, error) {
	path, err := s.Path(name)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &Error{Kind: KindNotFound, Path: path, Err: err}
		}
		return nil, ioError(path, err)
	}
	return data, nil
}

// Exists reports whether name exists in the store; false for invalid names.
func (s *Store) Exists(name string) bool {
	path, err := s.Path(name)
	if err != nil {
		return false
	}
	_, err = os.Stat(path)
	return err == nil
}

// Clear removes name; a file that is already gone is not an error.
func (s *Store) Clear(name string) error {
	path, err := s.Path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return ioError(path, err)
	}
	return nil
}

// describeJSONError reduces a decode error to category and position. The
// decoder's own messages quote input ("invalid character 's'", "number
// 12345"), which in a profile file is a token.
func describeJSONError(err error, data []byte) *JSONError {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
		offset int64
		cat    string
	)
	switch {
	case errors.As(err, &syntax):
		offset, cat = syntax.Offset, "syntax error"
		if syntax.Offset >= int64(len(data)) {
			cat = "unexpected end of input"
		}
	case errors.As(err, &typ):
		offset, cat = typ.Offset, "data error"
	default:
		// A custom UnmarshalJSON failed or the target is unusable: no
		// position is available.
		return &JSONError{Category: "data error"}
	}
	line, col := position(data, offset)
	return &JSONError{Category: cat, Line: line, Column: col}
}

// position turns the decoder's offset (bytes read, the last of them the
// offending one) into the 1-based line and column of that byte.
func position(data []byte, offset int64) (line, col int) {
	if offset < 0 {
		offset = 0
	}
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = 1 + bytes.Count(before, []byte{'\n'})
	col = len(before) - bytes.LastIndexByte(before, '\n') - 1
	if col < 1 {
		col = 1
	}
	return line, col
}
