package stackauth

import (
	"sync"
	"time"
)

// Clock is where the engine reads "now"; tests inject a ManualClock.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }

// ManualClock is a settable clock for deterministic tests of expiry and backoff.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

func NewManualClock(t time.Time) *ManualClock { return &ManualClock{now: t} }

func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func durationSecs(s uint64) time.Duration {
	if s > uint64(1<<62)/uint64(time.Second) {
		return time.Duration(1 << 62)
	}
	return time.Duration(s) * time.Second
}
