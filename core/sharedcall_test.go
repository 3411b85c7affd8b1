package stackauth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Go's AuthStrategyFn single-flights as the C ABI's get-token hook does: concurrent callers
// share one call of fn; nothing is cached, so the next caller calls fn again.
func TestAuthStrategyFnConcurrentCallersShareOneCall(t *testing.T) {
	const callers = 8
	var calls atomic.Int32
	release := make(chan struct{})
	s := NewAuthStrategyFn(func(context.Context) (ServiceToken, error) {
		n := calls.Add(1)
		<-release
		return NewServiceToken(NewSecretToken(fmt.Sprintf("token-%d", n))), nil
	})
	var waiting sync.WaitGroup
	waiting.Add(callers)
	s.onWait = waiting.Done
	results := make(chan string, callers)
	for range callers {
		go func() {
			tok, err := s.GetToken(context.Background())
			assert.NoError(t, err)
			results <- tok.Token().Reveal()
		}()
	}
	waiting.Wait() // every caller has joined the one call, which cannot end before release
	close(release)
	for range callers {
		assert.Equal(t, "token-1", <-results)
	}
	assert.Equal(t, int32(1), calls.Load())

	s.onWait = nil
	tok, err := s.GetToken(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "token-2", tok.Token().Reveal())
}

// A caller that gives up leaves; the call it started goes on for the others.
func TestAuthStrategyFnCallerGivingUpDoesNotCancelTheSharedCall(t *testing.T) {
	release := make(chan struct{})
	fnCtxErr := make(chan error, 1)
	s := NewAuthStrategyFn(func(ctx context.Context) (ServiceToken, error) {
		<-release
		fnCtxErr <- ctx.Err()
		return NewServiceToken(NewSecretToken("shared")), nil
	})
	var waiting sync.WaitGroup
	waiting.Add(2)
	s.onWait = waiting.Done
	leaderCtx, giveUp := context.WithCancel(context.Background())
	leader := make(chan error, 1)
	go func() { _, err := s.GetToken(leaderCtx); leader <- err }()
	other := make(chan string, 1)
	go func() {
		tok, err := s.GetToken(context.Background())
		assert.NoError(t, err)
		other <- tok.Token().Reveal()
	}()
	waiting.Wait()
	giveUp()
	assert.ErrorIs(t, <-leader, context.Canceled)
	close(release)
	assert.Equal(t, "shared", <-other)
	assert.NoError(t, <-fnCtxErr)
}

func TestAuthStrategyFnPanicIsAnInternalError(t *testing.T) {
	s := NewAuthStrategyFn(func(context.Context) (ServiceToken, error) { panic("sekrit-in-panic") })
	_, err := s.GetToken(context.Background())
	require.Error(t, err)
	assert.Equal(t, CodeInternal, AsAuthError(err).Code)
	assert.NotContains(t, err.Error(), "sekrit")
	assert.False(t, errors.Is(err, context.Canceled))
}
