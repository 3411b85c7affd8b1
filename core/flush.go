package stackauth

import (
	"context"
	"reflect"
	"sync"
	"time"
)

// FlushTimeout is how long a process exit waits, by default, for exchanges that must
// finish (the CLI's, and the bindings' exit hooks).
const FlushTimeout = 5 * time.Second

// mustFinish counts credential exchanges that outlive Close (docs/architecture.md D1): once a rotating
// refresh token may have reached the server, its outcome is saved whatever the host does
// next, and Flush waits for that.
var mustFinish struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0; nil while n == 0
}

// beginMustFinish registers an exchange; call the returned function once it is saved.
func beginMustFinish() (end func()) {
	mustFinish.mu.Lock()
	if mustFinish.n == 0 {
		mustFinish.idle = make(chan struct{})
	}
	mustFinish.n++
	mustFinish.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			mustFinish.mu.Lock()
			if mustFinish.n--; mustFinish.n == 0 {
				close(mustFinish.idle)
				mustFinish.idle = nil
			}
			mustFinish.mu.Unlock()
		})
	}
}

// Flush waits until every exchange of a rotating credential (a device session's refresh)
// that is in flight, in any strategy, has finished and been saved, including those of
// strategies already closed. Call it before the process exits, with a deadline of a few
// seconds (FlushTimeout): exchanges are bounded by the refresh timeout. It returns nil when
// nothing is pending any more, else ctx's error.
func Flush(ctx context.Context) error {
	mustFinish.mu.Lock()
	idle := mustFinish.idle
	mustFinish.mu.Unlock()
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// detached is ctx without its cancellation but with its deadline: work that must finish
// even when its strategy is closed, still bounded in time.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	free := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(free, dl)
	}
	return context.WithCancel(free)
}

// storeSaves counts the saves in flight per store, so that a strategy starting cold on a
// store another strategy of this process is saving to reads that save (its waiters woke
// before it, docs/architecture.md D3) instead of minting a second token.
var storeSaves = struct {
	sync.Mutex
	m map[TokenStore]*saveCount
}{m: map[TokenStore]*saveCount{}}

type saveCount struct {
	n    int
	idle chan struct{}
}

// Pending reports whether an exchange or save that Flush waits for is in flight.
func Pending() bool {
	mustFinish.mu.Lock()
	defer mustFinish.mu.Unlock()
	return mustFinish.n > 0
}

// shared is the store behind a strategy's scoped view: saves are tracked per shared
// store, since every strategy of the process sees it through a view of its own.
func shared(s TokenStore) TokenStore {
	if v, ok := s.(interface{ unwrap() TokenStore }); ok {
		return v.unwrap()
	}
	return s
}

// trackable: only pointers are safe map keys (a struct holding a func would panic).
func trackable(s TokenStore) bool {
	return s != nil && reflect.TypeOf(s).Kind() == reflect.Pointer
}

func beginStoreSave(s TokenStore) (end func()) {
	s = shared(s)
	if !trackable(s) {
		return func() {}
	}
	storeSaves.Lock()
	c := storeSaves.m[s]
	if c == nil {
		c = &saveCount{idle: make(chan struct{})}
		storeSaves.m[s] = c
	}
	c.n++
	storeSaves.Unlock()
	return func() {
		storeSaves.Lock()
		if c.n--; c.n == 0 {
			close(c.idle)
			delete(storeSaves.m, s)
		}
		storeSaves.Unlock()
	}
}

// waitStoreSaves waits until no save to s is in flight, or ctx ends.
func waitStoreSaves(ctx context.Context, s TokenStore) {
	s = shared(s)
	if !trackable(s) {
		return
	}
	storeSaves.Lock()
	c := storeSaves.m[s]
	storeSaves.Unlock()
	if c == nil {
		return
	}
	select {
	case <-c.idle:
	case <-ctx.Done():
	}
}
