package profile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Lock polling backoff: short enough that a waiter notices a release
// promptly, capped so a long wait costs a few wake-ups per second at most.
const (
	lockBackoffMin = time.Millisecond
	lockBackoffMax = 50 * time.Millisecond
)

// LockPath is the file Lock(name) locks: <dir>/.<name>.lock. Nothing is
// created. A host that must hold the lock on someone else's behalf uses it.
func (s *Store) LockPath(name string) (string, error) {
	if err := validateFilename(name); err != nil {
		return "", err
	}
	return filepath.Join(s.dir, "."+name+".lock"), nil
}

// Lock takes an exclusive advisory lock serialising a read-modify-write of
// name against every other process (and every other Lock in this process)
// sharing the profile directory: e.g. two CLIs refreshing the same rotating
// refresh token. The lock lives on a sibling file, <dir>/.<name>.lock, so it
// survives the atomic rename that replaces name itself; that file is created
// 0600 if missing and never deleted (deleting it would let two processes
// lock two different inodes).
//
// Lock waits until the lock is free or ctx is done; in the latter case it
// returns an error wrapping ctx.Err() (a ctx already done fails at once,
// even if the lock is free). It polls with a non-blocking flock and
// a growing timer rather than blocking in the kernel, so a cancelled caller
// leaves no goroutine stuck in flock holding a lock nobody will release.
//
// unlock releases the lock and closes the file; calling it again is a no-op.
func (s *Store) Lock(ctx context.Context, name string) (unlock func(), err error) {
	path, err := s.LockPath(name)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("profile: lock %s: %w", path, err)
	}
	if err := os.MkdirAll(s.dir, dirMode); err != nil {
		return nil, ioError(s.dir, err)
	}
	// Each Lock opens its own file description: flock conflicts between
	// descriptions, so two Locks in one process exclude each other too.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, SecretFileMode)
	if err != nil {
		return nil, ioError(path, err)
	}

	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	backoff := lockBackoffMin
	waited := false
	for {
		held, err := tryLock(f)
		if err != nil {
			_ = f.Close()
			return nil, ioError(path, err)
		}
		if held {
			break
		}
		if !waited {
			waited = true
			if s.onLockWait != nil {
				s.onLockWait()
			}
		}
		if timer == nil {
			timer = time.NewTimer(backoff)
		} else {
			timer.Reset(backoff)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("profile: lock %s: %w", path, ctx.Err())
		case <-timer.C:
		}
		backoff = min(2*backoff, lockBackoffMax)
	}

	var once sync.Once
	return func() {
		once.Do(func() {
			// Closing the last descriptor releases the lock anyway; the
			// explicit unlock just makes the release not depend on that.
			_ = unlockFile(f)
			_ = f.Close()
		})
	}, nil
}
