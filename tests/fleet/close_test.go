package fleet

import (
	"context"
	"io"
	"os"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	stackauth "github.com/stackauth/stack-auth/core"
)

func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(entries)
}

// A Redis store's client (its connections) is closed when nothing uses it any more: a store
// AutoStrategy opened from CS_TOKEN_STORE closes with the strategy, and one the caller opened
// closes when the caller closes it. Open file descriptors stay flat over 1,000 cycles
// (issue 12 item 11).
func TestRedisClientsAreClosedWhenUnused(t *testing.T) {
	emu := startEmulator(t, 15*time.Minute)
	r := startRedis(t, 0)
	url := "redis://" + r.addr + "/0?timeout=2s"
	ctx := context.Background()
	env := func(name string) (string, bool) {
		if name == "CS_TOKEN_STORE" {
			return url, true
		}
		return "", false
	}
	cycle := func(i int) {
		if i%2 == 0 {
			s, err := stackauth.DetectAutoStrategy(stackauth.WithAccessKey(emu.AccessKey()),
				stackauth.WithWorkspaceCrn(emu.WorkspaceCRN()), stackauth.WithBaseURL(emu.URL()), stackauth.WithLookupEnv(env))
			require.NoError(t, err)
			_, err = s.GetToken(ctx)
			require.NoError(t, err)
			s.Close()
			return
		}
		store, err := stackauth.OpenStore(url)
		require.NoError(t, err)
		s, err := stackauth.NewAccessKeyStrategy(emu.WorkspaceCRN(), emu.AccessKey(),
			stackauth.WithBaseURL(emu.URL()), stackauth.WithStore(store))
		require.NoError(t, err)
		_, err = s.GetToken(ctx)
		require.NoError(t, err)
		s.Close()
		require.NoError(t, store.(io.Closer).Close())
	}
	for i := range 10 {
		cycle(i)
	}
	// Go closes a dropped connection's descriptor when the GC finalizes it, which hides a
	// leak only as long as the GC happens to run: keep it off while counting.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	before := openFDs(t)
	for i := range 1000 {
		cycle(i)
	}
	after := openFDs(t)
	t.Logf("open file descriptors: %d after 10 cycles, %d after 1,010", before, after)
	assert.LessOrEqual(t, after, before+2, "redis connections leak")
	assert.Equal(t, 1, issued(emu), "every cycle after the first read the shared token")
}
