package profile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// One of every kind, with upstream stack-profile's message (docs/upstream.md 10.17).
var everyKind = []struct {
	err  *Error
	code string
	msg  string
}{
	{&Error{Kind: KindIO, Err: &fs.PathError{Op: "open", Path: "/p", Err: syscall.EACCES}}, "stack_profile::io", "I/O error: permission denied"},
	{&Error{Kind: KindJSON, Err: &JSONError{Category: "syntax error", Line: 1, Column: 2}}, "stack_profile::json", "JSON error: syntax error at line 1 column 2"},
	{&Error{Kind: KindHomeDirNotFound}, "stack_profile::home_dir_not_found", "Could not determine home directory"},
	{&Error{Kind: KindNotFound, Path: "/p/auth.json"}, "stack_profile::not_found", "Profile not found: /p/auth.json"},
	{&Error{Kind: KindInvalidFilename, Name: "../x"}, "stack_profile::invalid_filename", "Invalid filename: ../x"},
	{&Error{Kind: KindNoCurrentWorkspace}, "stack_profile::no_current_workspace", "No current workspace set. Run `stash login` or `stash workspaces switch` first."},
	{&Error{Kind: KindInvalidWorkspaceID, Name: "short"}, "stack_profile::invalid_workspace_id", "Invalid workspace ID: short"},
	{&Error{Kind: KindWorkspaceNotFound, Name: "AAAAAAAAAAAAAAAA"}, "stack_profile::workspace_not_found", "Workspace not found: AAAAAAAAAAAAAAAA"},
}

func TestEveryKindHasAStableCodeAndMessage(t *testing.T) {
	require.Len(t, everyKind, len(kindInfo), "a kind is missing from this table")
	seen := map[string]ErrorKind{}
	for _, tc := range everyKind {
		t.Run(tc.err.Kind.String(), func(t *testing.T) {
			assert.Equal(t, tc.code, tc.err.Code())
			assert.True(t, strings.HasPrefix(tc.err.Code(), "stack_profile::"))
			assert.Equal(t, tc.msg, tc.err.Error())
			prev, dup := seen[tc.code]
			assert.False(t, dup, "code %s shared with %v", tc.code, prev)
			seen[tc.code] = tc.err.Kind
		})
	}
}

func TestIOKindsAreSpelledAsStdNames(t *testing.T) {
	tests := []struct {
		cause   error
		kind    string
		message string
	}{
		{syscall.ENOENT, "NotFound", "entity not found"},
		{syscall.EACCES, "PermissionDenied", "permission denied"},
		{syscall.EPERM, "PermissionDenied", "permission denied"},
		{syscall.EEXIST, "AlreadyExists", "entity already exists"},
		{syscall.EISDIR, "IsADirectory", "is a directory"},
		{syscall.ENOTDIR, "NotADirectory", "not a directory"},
		{syscall.ENOTEMPTY, "DirectoryNotEmpty", "directory not empty"},
		{syscall.EROFS, "ReadOnlyFilesystem", "read-only filesystem or storage medium"},
		{syscall.ENOSPC, "StorageFull", "no storage space"},
		{syscall.EWOULDBLOCK, "WouldBlock", "operation would block"},
		{syscall.EINTR, "Interrupted", "operation interrupted"},
		{io.ErrUnexpectedEOF, "UnexpectedEof", "unexpected end of file"},
		{io.ErrShortWrite, "WriteZero", "write zero"},
		{syscall.EPIPE, "Other", "other error"}, // not a kind a store meets: no invented name
		{errors.New("mystery"), "Other", "other error"},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.cause.Error(), func(t *testing.T) {
			// The OS message and path stay out of the message: only the kind.
			err := ioError("/marker-path", &fs.PathError{Op: "open", Path: "/marker-path", Err: tt.cause})
			assert.Equal(t, tt.kind, err.IOKind())
			assert.Equal(t, "I/O error: "+tt.message, err.Error())
			assert.NotContains(t, err.Error(), "marker")
			assert.ErrorIs(t, err, tt.cause, "the cause stays reachable")
		})
	}
}

func TestIOKindIsEmptyForOtherKinds(t *testing.T) {
	assert.Empty(t, (&Error{Kind: KindNotFound, Err: syscall.ENOENT}).IOKind())
}

func TestARealIOFailureIsKindIO(t *testing.T) {
	store := New(t.TempDir())
	// Reading a directory fails the same way for every user, root included.
	require.NoError(t, os.Mkdir(filepath.Join(store.Dir(), "auth.json"), 0o700))

	_, err := store.LoadBytes("auth.json")
	pe := requireKind(t, err, KindIO)
	assert.Equal(t, "IsADirectory", pe.IOKind())
	assert.Equal(t, "I/O error: is a directory", pe.Error())
	assert.Equal(t, filepath.Join(store.Dir(), "auth.json"), pe.Path)
}

func TestIsNotFoundSeesThroughWrapping(t *testing.T) {
	store := New(t.TempDir())
	_, err := store.LoadBytes("auth.json")
	wrapped := fmt.Errorf("loading token: %w", err)

	assert.True(t, IsNotFound(wrapped))
	assert.False(t, IsNotFound(&Error{Kind: KindNoCurrentWorkspace}))
	assert.False(t, IsNotFound(fs.ErrNotExist), "only the profile's own error counts")
	assert.False(t, IsNotFound(nil))
}

func TestHelpIsPresentWhereThereIsSomethingToDo(t *testing.T) {
	for _, tc := range everyKind {
		if tc.err.Kind == KindIO {
			continue // the kind already says it all
		}
		assert.NotEmpty(t, tc.err.Help(), tc.err.Kind.String())
	}
}
