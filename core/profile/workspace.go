package profile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The workspace methods are meant for the root store: a workspace lives in
// <root>/workspaces/<WSID>/ and the selection in <root>/current_workspace.
const (
	workspacesDir        = "workspaces"
	currentWorkspaceFile = "current_workspace"
)

// legacyFiles are the flat-layout files MigrateToWorkspace moves.
var legacyFiles = []string{"auth.json", "secretkey.json"}

// ValidWorkspaceID reports whether id is exactly 16 characters of the base32
// alphabet A-Z2-7. Checking this before joining the id into a path is what
// keeps an id from escaping the workspaces directory.
func ValidWorkspaceID(id string) bool {
	if len(id) != 16 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

func validateWorkspaceID(id string) error {
	if !ValidWorkspaceID(id) {
		return &Error{Kind: KindInvalidWorkspaceID, Name: id}
	}
	return nil
}

func (s *Store) workspaceDir(id string) string {
	return filepath.Join(s.dir, workspacesDir, id)
}

// CurrentWorkspace returns the id in current_workspace, trimmed and
// validated. A missing or empty file is KindNoCurrentWorkspace.
func (s *Store) CurrentWorkspace() (string, error) {
	data, err := s.LoadBytes(currentWorkspaceFile)
	if err != nil {
		if IsNotFound(err) {
			return "", &Error{Kind: KindNoCurrentWorkspace}
		}
		return "", err
	}
	id := strings.TrimSpace(string(data))
	if id == "" {
		return "", &Error{Kind: KindNoCurrentWorkspace}
	}
	if err := validateWorkspaceID(id); err != nil {
		return "", err
	}
	return id, nil
}

// SetCurrentWorkspace selects an existing workspace (one whose directory
// was created by InitWorkspace at login); otherwise KindWorkspaceNotFound.
func (s *Store) SetCurrentWorkspace(id string) error {
	if err := validateWorkspaceID(id); err != nil {
		return err
	}
	// Like upstream's is_dir(): anything but a reachable directory (missing,
	// a file, unreadable) means the workspace is not there. Err keeps why.
	if info, err := os.Stat(s.workspaceDir(id)); err != nil || !info.IsDir() {
		return &Error{Kind: KindWorkspaceNotFound, Path: s.workspaceDir(id), Name: id, Err: err}
	}
	return s.writeCurrentWorkspace(id)
}

func (s *Store) writeCurrentWorkspace(id string) error {
	return s.SaveBytes(currentWorkspaceFile, []byte(id), SecretFileMode)
}

// ClearCurrentWorkspace removes the selection; no selection is not an error.
func (s *Store) ClearCurrentWorkspace() error {
	return s.Clear(currentWorkspaceFile)
}

// InitWorkspace creates workspaces/<id>/ if needed, selects it, and returns
// its store. Login uses this for a workspace seen for the first time.
func (s *Store) InitWorkspace(id string) (*Store, error) {
	if err := validateWorkspaceID(id); err != nil {
		return nil, err
	}
	dir := s.workspaceDir(id)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, ioError(dir, err)
	}
	if err := s.writeCurrentWorkspace(id); err != nil {
		return nil, err
	}
	return New(dir), nil
}

// WorkspaceStore returns the store for workspaces/<id>/ without creating it.
func (s *Store) WorkspaceStore(id string) (*Store, error) {
	if err := validateWorkspaceID(id); err != nil {
		return nil, err
	}
	return New(s.workspaceDir(id)), nil
}

// CurrentWorkspaceStore is WorkspaceStore(CurrentWorkspace()).
func (s *Store) CurrentWorkspaceStore() (*Store, error) {
	id, err := s.CurrentWorkspace()
	if err != nil {
		return nil, err
	}
	return s.WorkspaceStore(id)
}

// ListWorkspaces returns, sorted, the ids that have a directory under
// workspaces/. Files and directories that are not valid ids are skipped.
func (s *Store) ListWorkspaces() ([]string, error) {
	dir := filepath.Join(s.dir, workspacesDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return []string{}, nil
		}
		return nil, ioError(dir, err)
	}
	ids := []string{}
	for _, e := range entries {
		if e.IsDir() && ValidWorkspaceID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// MigrateToWorkspace moves the pre-workspace flat layout (auth.json and
// secretkey.json at the root) into workspaces/<id>/ and selects that
// workspace, as upstream does. A file already present in the workspace is
// never overwritten: the legacy copy then stays where it is. Missing legacy
// files are skipped.
func (s *Store) MigrateToWorkspace(id string) error {
	if err := validateWorkspaceID(id); err != nil {
		return err
	}
	dir := s.workspaceDir(id)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return ioError(dir, err)
	}
	for _, name := range legacyFiles {
		if err := moveNoReplace(filepath.Join(s.dir, name), filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return s.writeCurrentWorkspace(id)
}

// moveNoReplace renames src to dst unless dst exists. It links first and
// unlinks after because link fails atomically with EEXIST, where a
// check-then-rename could overwrite a file another process just wrote.
// Filesystems without hard links fall back to check-then-rename.
func moveNoReplace(src, dst string) error {
	if _, err := os.Lstat(src); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return ioError(src, err)
	}
	err := os.Link(src, dst)
	switch {
	case err == nil:
		if err := os.Remove(src); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return ioError(src, err)
		}
		return nil
	case errors.Is(err, fs.ErrExist):
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return nil // src vanished since the Lstat: nothing to move
	}
	if _, statErr := os.Lstat(dst); statErr == nil {
		return nil
	} else if !errors.Is(statErr, fs.ErrNotExist) {
		return ioError(dst, statErr)
	}
	if err := os.Rename(src, dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return ioError(dst, err)
	}
	return nil
}
