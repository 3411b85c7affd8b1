//go:build windows

package profile

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// tryLock takes an exclusive LockFileEx lock on the file's first byte without
// blocking: held is false (and err nil) when another handle holds it. Like
// flock on Unix, the lock belongs to the handle, so two Locks in one process
// exclude each other, and the system drops it when the handle closes (or the
// process dies).
func tryLock(f *os.File) (held bool, err error) {
	var ol windows.Overlapped
	err = windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return false, nil
	}
	return err == nil, err
}

func unlockFile(f *os.File) error {
	var ol windows.Overlapped
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
}

// Windows cannot fsync a directory; the rename (MoveFileEx with
// MOVEFILE_REPLACE_EXISTING) is atomic but slightly less durable across power
// loss.
func syncDir(string) error { return nil }
