package profile

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// windowsTempDir is t.TempDir without its removal check: Wine 8 (where make test-platforms
// runs these tests) lacks the POSIX-semantics delete Go 1.26's RemoveAll uses, so the
// directory is left in Wine's temp folder there; on Windows it is removed.
func windowsTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "profile-lock-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// The profile lock is LockFileEx on the lock file's first byte: a second handle (as another
// process would hold) waits until the first releases it.
func TestLockFileExExcludesASecondLockerUntilReleased(t *testing.T) {
	store := New(windowsTempDir(t))
	unlock, err := store.Lock(context.Background(), "auth.json")
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), shortWaitWindows)
	defer cancel()
	_, err = store.Lock(ctx, "auth.json")
	require.ErrorIs(t, err, context.DeadlineExceeded)

	unlock()
	unlock2, err := store.Lock(context.Background(), "auth.json")
	require.NoError(t, err)
	unlock2()
}

func TestLockFileExOnDifferentFilesIsIndependent(t *testing.T) {
	store := New(windowsTempDir(t))
	unlockA, err := store.Lock(context.Background(), "auth.json")
	require.NoError(t, err)
	defer unlockA()
	ctx, cancel := context.WithTimeout(context.Background(), shortWaitWindows)
	defer cancel()
	unlockB, err := store.Lock(ctx, "secretkey.json")
	require.NoError(t, err)
	unlockB()
}

// Bounds a wait that is expected to fail (lock_test.go's shortWait is Unix-only).
const shortWaitWindows = 50 * time.Millisecond
