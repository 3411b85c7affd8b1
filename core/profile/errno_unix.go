//go:build unix

package profile

import (
	"errors"
	"syscall"
)

// errnoKinds maps errnos the way Rust's std does on Unix
// (library/std/src/sys/pal/unix/mod.rs decode_error_kind).
var errnoKinds = map[syscall.Errno]ioKind{
	syscall.ENOENT:       ioNotFound,
	syscall.EACCES:       ioPermissionDenied,
	syscall.EPERM:        ioPermissionDenied,
	syscall.EEXIST:       ioAlreadyExists,
	syscall.EAGAIN:       ioWouldBlock,
	syscall.ENOTDIR:      ioNotADirectory,
	syscall.EISDIR:       ioIsADirectory,
	syscall.ENOTEMPTY:    ioDirectoryNotEmpty,
	syscall.EROFS:        ioReadOnlyFS,
	syscall.ENOSPC:       ioStorageFull,
	syscall.EDQUOT:       ioQuotaExceeded,
	syscall.EFBIG:        ioFileTooLarge,
	syscall.EBUSY:        ioResourceBusy,
	syscall.EINVAL:       ioInvalidInput,
	syscall.ENAMETOOLONG: ioInvalidFilename,
	syscall.ETIMEDOUT:    ioTimedOut,
	syscall.EINTR:        ioInterrupted,
	syscall.ENOSYS:       ioUnsupported,
	syscall.EOPNOTSUPP:   ioUnsupported,
	syscall.ENOMEM:       ioOutOfMemory,
}

// errnoKind is the kind of the errno behind err (ioOther for an errno not in errnoKinds);
// false when there is no errno.
func errnoKind(err error) (ioKind, bool) {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return "", false
	}
	if k, ok := errnoKinds[errno]; ok {
		return k, true
	}
	return ioOther, true
}
