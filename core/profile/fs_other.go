//go:build !unix && !windows

package profile

import (
	"errors"
	"os"
)

// Advisory locking is flock on Unix and LockFileEx on Windows (fs_windows.go).
// Lock reports KindIO "unsupported" elsewhere rather than silently not
// locking.
func tryLock(*os.File) (bool, error) { return false, errors.ErrUnsupported }

func unlockFile(*os.File) error { return nil }

// Windows cannot fsync a directory; the rename is atomic but slightly less
// durable across power loss.
func syncDir(string) error { return nil }
