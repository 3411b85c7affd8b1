package profile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrorKind says which profile failure an *Error is. Callers branch on it
// (or on Code, which is the same thing as a stable string).
type ErrorKind int

const (
	// KindIO: reading or writing a profile file failed. The message names the
	// kind of failure only (see Error.IOKind); Err holds the OS error.
	KindIO ErrorKind = iota
	// KindJSON: a profile file is not valid JSON for the requested type, or a
	// value could not be encoded. The message never quotes the file.
	KindJSON
	// KindHomeDirNotFound: no explicit dir, no CS_CONFIG_PATH and no home.
	KindHomeDirNotFound
	// KindNotFound: the requested profile file does not exist (Path says which).
	KindNotFound
	// KindInvalidFilename: a name that is not one plain file name (Name).
	KindInvalidFilename
	// KindNoCurrentWorkspace: current_workspace is missing or empty.
	KindNoCurrentWorkspace
	// KindInvalidWorkspaceID: not 16 characters of A-Z2-7 (Name holds the id).
	KindInvalidWorkspaceID
	// KindWorkspaceNotFound: workspaces/<id>/ does not exist (Name holds the id).
	KindWorkspaceNotFound
)

// kindInfo is one row per kind so that a new kind without a code, name or
// help text is obvious in review (and caught by TestEveryKindHasAStableCodeAndMessage).
var kindInfo = map[ErrorKind]struct{ name, code, help string }{
	KindIO:                 {"IO", "stack_profile::io", ""},
	KindJSON:               {"JSON", "stack_profile::json", "The profile file is damaged. Log in again with `stash auth login` to rewrite it."},
	KindHomeDirNotFound:    {"HomeDirNotFound", "stack_profile::home_dir_not_found", "Set HOME or CS_CONFIG_PATH, or open the store at an explicit directory."},
	KindNotFound:           {"NotFound", "stack_profile::not_found", "Log in with `stash auth login` to create the profile."},
	KindInvalidFilename:    {"InvalidFilename", "stack_profile::invalid_filename", "A profile filename is a bare name such as `auth.json`: no directory, no `..`."},
	KindNoCurrentWorkspace: {"NoCurrentWorkspace", "stack_profile::no_current_workspace", "Logging in selects a workspace; so does switching to one already logged in to."},
	KindInvalidWorkspaceID: {"InvalidWorkspaceID", "stack_profile::invalid_workspace_id", "A workspace ID is 16 base32 characters (A-Z, 2-7), such as `ZVATKW3VHMFG27DY`."},
	KindWorkspaceNotFound:  {"WorkspaceNotFound", "stack_profile::workspace_not_found", "Log in to this workspace with `stash auth login`."},
}

func (k ErrorKind) String() string {
	if info, ok := kindInfo[k]; ok {
		return info.name
	}
	return fmt.Sprintf("ErrorKind(%d)", int(k))
}

// Error is every error this package returns, except Lock's context errors
// (which wrap ctx.Err() so errors.Is(err, context.DeadlineExceeded) works).
//
// Path is the file involved (KindNotFound, KindIO, KindJSON); Name is the
// rejected filename (KindInvalidFilename) or workspace id
// (KindInvalidWorkspaceID, KindWorkspaceNotFound). Err is the cause: the OS
// error for KindIO/KindNotFound, a *JSONError for KindJSON. The JSON cause is
// deliberately not the decoder's own error, because that error's text can
// quote the file and profile files hold tokens; a caller that prints the
// whole Unwrap chain must not leak them either.
type Error struct {
	Kind ErrorKind
	Path string
	Name string
	Err  error
}

func (e *Error) Error() string {
	switch e.Kind {
	case KindIO:
		return "I/O error: " + ioKindMessage(ioKindOf(e.Err))
	case KindJSON:
		var je *JSONError
		if errors.As(e.Err, &je) {
			return "JSON error: " + je.Error()
		}
		return "JSON error"
	case KindHomeDirNotFound:
		return "Could not determine home directory"
	case KindNotFound:
		return "Profile not found: " + e.Path
	case KindInvalidFilename:
		return "Invalid filename: " + e.Name
	case KindNoCurrentWorkspace:
		return "No current workspace set. Run `stash login` or `stash workspaces switch` first."
	case KindInvalidWorkspaceID:
		return "Invalid workspace ID: " + e.Name
	case KindWorkspaceNotFound:
		return "Workspace not found: " + e.Name
	}
	return "profile error: " + e.Kind.String()
}

// Code is a stable identifier such as "stack_profile::not_found".
func (e *Error) Code() string {
	if info, ok := kindInfo[e.Kind]; ok {
		return info.code
	}
	return "stack_profile::unknown"
}

// Help is a one-line hint for a person, or "" when there is nothing useful
// to add to the message.
func (e *Error) Help() string { return kindInfo[e.Kind].help }

// IOKind names the I/O failure as Rust's std::io::ErrorKind does
// ("NotFound", "PermissionDenied", ...; "Other" for the rest), so every
// language reports the same spelling. It is "" unless Kind is KindIO.
func (e *Error) IOKind() string {
	if e.Kind != KindIO {
		return ""
	}
	return string(ioKindOf(e.Err))
}

func (e *Error) Unwrap() error { return e.Err }

// IsNotFound reports whether err is (or wraps) a KindNotFound *Error: the
// requested profile file does not exist.
func IsNotFound(err error) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Kind == KindNotFound
}

// JSONError describes a JSON failure by category and position only.
// Line and Column are 1-based and 0 when unknown (e.g. an encode failure).
type JSONError struct {
	Category string // "syntax error", "data error", "unexpected end of input"
	Line     int
	Column   int
}

func (e *JSONError) Error() string {
	if e.Line == 0 {
		return e.Category
	}
	return fmt.Sprintf("%s at line %d column %d", e.Category, e.Line, e.Column)
}

// ioKind is a Rust std::io::ErrorKind name. Only the kinds a profile store
// can meet are listed; anything else is "Other" rather than an invented name.
type ioKind string

const (
	ioNotFound          ioKind = "NotFound"
	ioPermissionDenied  ioKind = "PermissionDenied"
	ioAlreadyExists     ioKind = "AlreadyExists"
	ioWouldBlock        ioKind = "WouldBlock"
	ioNotADirectory     ioKind = "NotADirectory"
	ioIsADirectory      ioKind = "IsADirectory"
	ioDirectoryNotEmpty ioKind = "DirectoryNotEmpty"
	ioReadOnlyFS        ioKind = "ReadOnlyFilesystem"
	ioStorageFull       ioKind = "StorageFull"
	ioQuotaExceeded     ioKind = "QuotaExceeded"
	ioFileTooLarge      ioKind = "FileTooLarge"
	ioResourceBusy      ioKind = "ResourceBusy"
	ioInvalidInput      ioKind = "InvalidInput"
	ioInvalidData       ioKind = "InvalidData"
	ioInvalidFilename   ioKind = "InvalidFilename"
	ioTimedOut          ioKind = "TimedOut"
	ioWriteZero         ioKind = "WriteZero"
	ioInterrupted       ioKind = "Interrupted"
	ioUnsupported       ioKind = "Unsupported"
	ioUnexpectedEOF     ioKind = "UnexpectedEof"
	ioOutOfMemory       ioKind = "OutOfMemory"
	ioOther             ioKind = "Other"
)

// ioKindMessages are Rust's ErrorKind Display strings, so "I/O error: <kind>"
// reads the same as upstream's message.
var ioKindMessages = map[ioKind]string{
	ioNotFound:          "entity not found",
	ioPermissionDenied:  "permission denied",
	ioAlreadyExists:     "entity already exists",
	ioWouldBlock:        "operation would block",
	ioNotADirectory:     "not a directory",
	ioIsADirectory:      "is a directory",
	ioDirectoryNotEmpty: "directory not empty",
	ioReadOnlyFS:        "read-only filesystem or storage medium",
	ioStorageFull:       "no storage space",
	ioQuotaExceeded:     "filesystem quota exceeded",
	ioFileTooLarge:      "file too large",
	ioResourceBusy:      "resource busy",
	ioInvalidInput:      "invalid input parameter",
	ioInvalidData:       "invalid data",
	ioInvalidFilename:   "invalid filename",
	ioTimedOut:          "timed out",
	ioWriteZero:         "write zero",
	ioInterrupted:       "operation interrupted",
	ioUnsupported:       "unsupported",
	ioUnexpectedEOF:     "unexpected end of file",
	ioOutOfMemory:       "out of memory",
	ioOther:             "other error",
}

func ioKindMessage(k ioKind) string { return ioKindMessages[k] }

func ioKindOf(err error) ioKind {
	if err == nil {
		return ioOther
	}
	if k, ok := errnoKind(err); ok {
		return k
	}
	for _, m := range errorKinds {
		if errors.Is(err, m.target) {
			return m.kind
		}
	}
	return ioOther
}

// errorKinds are the kinds of the errors without an errno, first match wins.
var errorKinds = []struct {
	target error
	kind   ioKind
}{
	{fs.ErrNotExist, ioNotFound},
	{fs.ErrPermission, ioPermissionDenied},
	{fs.ErrExist, ioAlreadyExists},
	{context.DeadlineExceeded, ioTimedOut},
	{os.ErrDeadlineExceeded, ioTimedOut},
	{io.ErrUnexpectedEOF, ioUnexpectedEOF},
	{io.ErrShortWrite, ioWriteZero},
	{errors.ErrUnsupported, ioUnsupported},
}

func ioError(path string, err error) *Error {
	return &Error{Kind: KindIO, Path: path, Err: err}
}
