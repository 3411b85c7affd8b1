//go:build unix

package profile

import (
	"errors"
	"syscall"
)

// errnoKind maps the errno behind err the way Rust's std does on Unix
// (library/std/src/sys/pal/unix/mod.rs decode_error_kind).
func errnoKind(err error) (ioKind, bool) {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return "", false
	}
	switch errno {
	case syscall.ENOENT:
		return ioNotFound, true
	case syscall.EACCES, syscall.EPERM:
		return ioPermissionDenied, true
	case syscall.EEXIST:
		return ioAlreadyExists, true
	case syscall.EAGAIN:
		return ioWouldBlock, true
	case syscall.ENOTDIR:
		return ioNotADirectory, true
	case syscall.EISDIR:
		return ioIsADirectory, true
	case syscall.ENOTEMPTY:
		return ioDirectoryNotEmpty, true
	case syscall.EROFS:
		return ioReadOnlyFS, true
	case syscall.ENOSPC:
		return ioStorageFull, true
	case syscall.EDQUOT:
		return ioQuotaExceeded, true
	case syscall.EFBIG:
		return ioFileTooLarge, true
	case syscall.EBUSY:
		return ioResourceBusy, true
	case syscall.EINVAL:
		return ioInvalidInput, true
	case syscall.ENAMETOOLONG:
		return ioInvalidFilename, true
	case syscall.ETIMEDOUT:
		return ioTimedOut, true
	case syscall.EINTR:
		return ioInterrupted, true
	case syscall.ENOSYS, syscall.EOPNOTSUPP:
		return ioUnsupported, true
	case syscall.ENOMEM:
		return ioOutOfMemory, true
	}
	return ioOther, true
}
