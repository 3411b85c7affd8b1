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

// CallWait is one call's own timeout in milliseconds (the C ABI's timeout_ms, which every
// binding passes on after converting its units): 0 is fallback (the strategy's timeout; for a
// device poll, until the code expires; for a flush, no wait), 1 ms to a day is that wait, and
// anything else is INVALID_ARGUMENT, whose help names the caller's own API.
func CallWait(ms int64, fallback time.Duration, l Language) (time.Duration, error) {
	if ms == 0 {
		return fallback, nil
	}
	if ms < 0 || ms > maxWaitMs {
		msg := fmt.Sprintf("the call's timeout must be 0 (the default) or 1 to %d ms (a day), not %d ms", maxWaitMs, ms)
		ae := NewCustomError(msg)
		ae.Code = CodeInvalidArgument
		ae.Help = callWaitHelp[l]
		return 0, ae
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// callWaitHelp says, in each language's units and API, which per-call timeouts are accepted.
var callWaitHelp = map[Language]string{
	LanguageGo:     "Pass timeout_ms 0 for the default, or 1 to 86400000 (a day).",
	LanguageC:      "Pass `timeout_ms` 0 for the default (the strategy's `timeoutMs`), or 1 to 86400000 (a day).",
	LanguageRust:   "Pass `None` for the default, or a `Duration` of at most a day.",
	LanguageNode:   "Pass `{ timeoutMs }` as an integer from 1 to 86400000 (a day), or leave it out for the default (the strategy's `timeoutMs`).",
	LanguagePython: "Pass `timeout=` in seconds, more than 0 and at most 86400 (a day), or `None` for the default (the strategy's timeout).",
	LanguageRuby:   "Pass `timeout:` in seconds, more than 0 and at most 86400 (a day), or `nil` for the default (the strategy's timeout).",
}
