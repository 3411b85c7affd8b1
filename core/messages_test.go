package stackauth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	stackauth "github.com/stackauth/stack-auth/core"
	"github.com/stackauth/stack-auth/emulator"
)

// A key the token service refuses says so, in one line, with what to check; the server's
// JSON body is not the message.
func TestRefusedAccessKeySaysTheKeyWasRefused(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	key := w.emu.AccessKey()
	id, _, _ := strings.Cut(key, ".")
	s, err := stackauth.NewAccessKeyStrategy(w.emu.WorkspaceCRN(), id+".wrongsecretwrongsecret", w.opts()...)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.GetToken(context.Background())
	ae := stackauth.AsAuthError(err)
	assert.Equal(t, stackauth.CodeServer, ae.Code, "upstream's code is kept")
	assert.Contains(t, ae.Message, "refused the access key")
	assert.Contains(t, ae.Message, "HTTP 401")
	assert.NotContains(t, ae.Message, "{", "not the raw JSON body")
	assert.NotContains(t, ae.Message, "wrongsecret")
	assert.Contains(t, ae.Help, "CS_CLIENT_ACCESS_KEY")
	assert.False(t, ae.Retryable(), "the same key will be refused again")
}

// A timeout says what timed out: the request to the token service, and after how long.
func TestTimeoutSaysWhatTimedOut(t *testing.T) {
	w := newWorld(t, emulator.Config{})
	w.emu.InjectFault(emulator.Fault{Path: "/api/authorise", Delay: 2 * time.Second, Count: 1})
	s, err := stackauth.NewAccessKeyStrategy(w.emu.WorkspaceCRN(), w.emu.AccessKey(),
		w.opts(stackauth.WithRefreshTimeout(200*time.Millisecond))...)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.GetToken(context.Background())
	require.Error(t, err)
	msg := stackauth.AsAuthError(err).Message
	assert.NotContains(t, msg, "context deadline exceeded")
	assert.Contains(t, msg, "timed out")
	assert.Contains(t, msg, "api/authorise")
}
