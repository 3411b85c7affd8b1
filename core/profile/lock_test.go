//go:build unix

package profile

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLockCreatesAnOwnerOnlyLockFileAndNeverDeletesIt(t *testing.T) {
	store := New(filepath.Join(t.TempDir(), "ws"))
	path, err := store.LockPath("auth.json")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(store.Dir(), ".auth.json.lock"), path)
	assert.NoFileExists(t, path, "naming the lock file must not create it")

	unlock, err := store.Lock(context.Background(), "auth.json")
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fileMode(t, path))
	unlock()
	unlock() // a second call is a no-op

	assert.FileExists(t, path, "the lock file outlives the lock")
	assert.False(t, store.Exists("auth.json"), "locking does not create the locked file")
}

func TestLockExcludesASecondLockerInTheSameProcessUntilReleased(t *testing.T) {
	store := New(t.TempDir())
	unlock, err := store.Lock(context.Background(), "auth.json")
	require.NoError(t, err)

	// While held, a second Lock (its own file description) cannot get in.
	requireLockHeld(t, store, "auth.json")

	// A waiter with no deadline gets it, but only after the release.
	var released atomic.Bool
	waiting := make(chan struct{})
	acquired := make(chan bool)
	waiter := New(store.Dir())
	waiter.onLockWait = func() { close(waiting) }
	go func() {
		unlock2, err := waiter.Lock(context.Background(), "auth.json")
		if !assert.NoError(t, err) {
			acquired <- false
			return
		}
		acquired <- released.Load()
		unlock2()
	}()

	<-waiting // the waiter has seen the lock held
	released.Store(true)
	unlock()
	assert.True(t, <-acquired, "the waiter got the lock before it was released")
}

func TestLockHonoursTheContextWhileHeldByAnother(t *testing.T) {
	tests := []struct {
		name string
		// ctx returns the context to wait with and a hook run when Lock
		// first finds the lock held.
		ctx  func() (context.Context, func(), context.CancelFunc)
		want error
	}{
		{
			name: "deadline",
			ctx: func() (context.Context, func(), context.CancelFunc) {
				ctx, cancel := context.WithTimeout(context.Background(), shortWait)
				return ctx, nil, cancel
			},
			want: context.DeadlineExceeded,
		},
		{
			name: "cancelled while waiting",
			ctx: func() (context.Context, func(), context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				return ctx, cancel, cancel
			},
			want: context.Canceled,
		},
		{
			name: "cancelled before the call",
			ctx: func() (context.Context, func(), context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, nil, cancel
			},
			want: context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			holder := New(t.TempDir())
			unlock, err := holder.Lock(context.Background(), "auth.json")
			require.NoError(t, err)

			ctx, hook, cancel := tt.ctx()
			defer cancel()
			waiter := New(holder.Dir())
			waiter.onLockWait = hook
			_, err = waiter.Lock(ctx, "auth.json")
			require.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), ".auth.json.lock")

			// The failed waiter left nothing behind: once the holder lets go
			// the lock is free at once (a stray flock would block this).
			unlock()
			ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel2()
			unlock2, err := waiter.Lock(ctx2, "auth.json")
			require.NoError(t, err)
			unlock2()
		})
	}
}

func TestLocksOnDifferentFilesAreIndependent(t *testing.T) {
	store := New(t.TempDir())
	unlockAuth, err := store.Lock(context.Background(), "auth.json")
	require.NoError(t, err)
	defer unlockAuth()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	unlockDevice, err := store.Lock(ctx, "device.json")
	require.NoError(t, err)
	unlockDevice()
}

const lockHelperEnv = "STACK_PROFILE_LOCK_HELPER_DIR"

// TestLockHelperProcess is not a test: TestLockExcludesAnotherProcess runs
// the test binary again with only this function selected. It takes the lock,
// says "locked" on stdout, holds it until stdin closes, then releases.
func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv(lockHelperEnv)
	if dir == "" {
		t.Skip("helper process for TestLockExcludesAnotherProcess")
	}
	unlock, err := New(dir).Lock(context.Background(), "auth.json")
	require.NoError(t, err)
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	unlock()
}

func TestLockExcludesAnotherProcess(t *testing.T) {
	store := New(t.TempDir())

	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+store.Dir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	waited := false
	t.Cleanup(func() {
		if !waited {
			_ = stdin.Close()
			_ = cmd.Wait()
		}
	})

	// Wait for the child's signal that it holds the lock.
	lines := bufio.NewScanner(stdout)
	locked := false
	for !locked && lines.Scan() {
		locked = lines.Text() == "locked"
	}
	if !locked {
		// stdout ended, so the child is exiting: reap it before reading
		// stderr, which its copier goroutine writes until then.
		_ = stdin.Close()
		waited = true
		_ = cmd.Wait()
		require.FailNow(t, "child never took the lock", "stderr: %s", stderr.String())
	}

	requireLockHeld(t, store, "auth.json", "the child's lock must exclude this process")

	// Closing stdin tells the child to release; then the lock is ours.
	require.NoError(t, stdin.Close())
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	unlock, err := store.Lock(ctx2, "auth.json")
	require.NoError(t, err)
	unlock()

	_, _ = io.Copy(io.Discard, stdout) // drain so Wait can finish
	waited = true
	err = cmd.Wait()
	require.NoError(t, err, "child failed; stderr: %s", stderr.String())
}
