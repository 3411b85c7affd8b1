package stackauth

import (
	"fmt"
	"time"
)

// DefaultWait is how long a caller of the C ABI (and so every binding) waits for a token, a
// host hook's answer or a device code when it names no timeout. The shared refresh keeps its
// own, longer deadline: it serves every caller and must not expire at the same instant as one
// of them.
const DefaultWait = 30 * time.Second

// maxWaitMs bounds a caller's timeoutMs: a day.
const maxWaitMs = int64(24 * time.Hour / time.Millisecond)

// WaitFromMillis checks a caller's timeoutMs and returns it as a duration; the error says
// which values are accepted, in words every language's binding passes on unchanged.
func WaitFromMillis(ms int64) (time.Duration, error) {
	if ms <= 0 || ms > maxWaitMs {
		return 0, fmt.Errorf("timeoutMs must be between 1 and %d", maxWaitMs)
	}
	return time.Duration(ms) * time.Millisecond, nil
}
