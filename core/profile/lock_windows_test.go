package profile

import (
	"context"
	"os"
	"testing"

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

	requireLockHeld(t, store, "auth.json")

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
	ctx, cancel := context.WithTimeout(context.Background(), shortWait)
	defer cancel()
	unlockB, err := store.Lock(ctx, "secretkey.json")
	require.NoError(t, err)
	unlockB()
}
