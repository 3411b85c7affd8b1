package profile

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/uuid"
)

// writeAtomic replaces path with data so that a reader (in this or another
// process) sees either the old file or the new one, never a torn one, and a
// crash leaves one of the two on disk.
//
// The data goes to a sibling temp file first (same directory, so the rename
// cannot cross filesystems). Its name carries the pid, to keep processes
// apart, and a random UUID, to keep goroutines apart; O_EXCL guarantees the
// file is ours and never a pre-planted symlink.
func (s *Store) writeAtomic(path string, data []byte, mode os.FileMode) (err error) {
	perm := mode.Perm()
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return ioError(dir, err)
	}

	id := uuid.New()
	tmp := filepath.Join(dir, fmt.Sprintf(".%s.tmp.%d.%s", filepath.Base(path), os.Getpid(), hex.EncodeToString(id[:])))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return ioError(path, err)
	}
	renamed := false
	defer func() {
		if !renamed {
			_ = f.Close() // a no-op error if already closed
			_ = os.Remove(tmp)
		}
	}()

	if _, err := f.Write(data); err != nil {
		return ioError(path, err)
	}
	if err := f.Sync(); err != nil {
		return ioError(path, err)
	}
	// OpenFile's mode was filtered through the umask; chmod sets the exact
	// bits. Because the rename below replaces the target's inode, a target
	// that used to be 0644 ends up with these bits too.
	if err := f.Chmod(perm); err != nil {
		return ioError(path, err)
	}
	if err := f.Close(); err != nil {
		return ioError(path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return ioError(path, err)
	}
	renamed = true

	// Make the rename itself durable, not just the bytes.
	if err := syncDir(dir); err != nil {
		return ioError(dir, err)
	}
	return nil
}
