package profile

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A deadline short enough to keep the suite fast; it bounds a wait that is
// expected to fail, so it orders nothing.
const shortWait = 50 * time.Millisecond

// requireLockHeld checks that name's lock is held by someone else: store's Lock gives up
// waiting for it at shortWait's deadline.
func requireLockHeld(t *testing.T, store *Store, name string, msgAndArgs ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), shortWait)
	defer cancel()
	_, err := store.Lock(ctx, name)
	require.ErrorIs(t, err, context.DeadlineExceeded, msgAndArgs...)
}
