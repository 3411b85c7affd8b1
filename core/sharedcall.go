package stackauth

import (
	"context"
	"sync"
)

// SharedCall runs one call at a time for any number of concurrent callers (single flight):
// the first caller starts it, and every caller that arrives before it ends gets its outcome.
// Nothing is cached: the next caller after the end starts a new call. Go's AuthStrategyFn
// and the C ABI's get-token hooks (an AuthStrategyFn's, an OIDC provider's) use it, so a
// token function is called alike in every language. The zero value is ready to use.
type SharedCall[T any] struct {
	mu  sync.Mutex
	cur *Call[T]
}

// Call is one call of a SharedCall.
type Call[T any] struct {
	owner *SharedCall[T]
	once  sync.Once
	done  chan struct{} // closed once val and err are set
	val   T
	err   error
}

// Join returns the call in flight, or starts one: start runs on the caller's goroutine, must
// not block, and arranges for Finish to be called (now, or later from any goroutine).
func (s *SharedCall[T]) Join(start func(*Call[T])) *Call[T] {
	s.mu.Lock()
	if c := s.cur; c != nil {
		s.mu.Unlock()
		return c
	}
	c := &Call[T]{owner: s, done: make(chan struct{})}
	s.cur = c
	s.mu.Unlock()
	start(c)
	return c
}

// Finish records the outcome and wakes every waiter; later calls of Finish do nothing (a
// late answer after a timeout). It reports whether this call set the outcome.
func (c *Call[T]) Finish(val T, err error) bool {
	first := false
	c.once.Do(func() {
		first = true
		c.val, c.err = val, err
		c.owner.mu.Lock()
		c.owner.cur = nil
		c.owner.mu.Unlock()
		close(c.done)
	})
	return first
}

// Result returns the outcome when the call has ended (ok), without waiting.
func (c *Call[T]) Result() (val T, err error, ok bool) {
	select {
	case <-c.done:
		return c.val, c.err, true
	default:
		return val, nil, false
	}
}

// Wait returns the outcome, or ctx's error when ctx ends first; the call goes on for the
// others who share it.
func (c *Call[T]) Wait(ctx context.Context) (T, error) {
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
