package stackauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"unsafe"
)

// SecretToken holds a secret string: a bearer token, refresh token, access key, device
// code or provider JWT. Every formatting verb prints a mask; only Reveal gives the value.
// JSON (un)marshals it as the plain string so that stored tokens keep upstream's shape.
type SecretToken struct {
	// A pointer so that copies share one buffer that Zero can wipe, and so that the
	// zero value is cheap to pass around.
	b *[]byte
}

const secretMask = "***"

// NewSecretToken wraps value.
func NewSecretToken(value string) SecretToken {
	b := []byte(value)
	return SecretToken{b: &b}
}

// NewSecretTokenBytes wraps a copy of value: the one copy, which Zero wipes (a string
// conversion on the way would leave another copy that nothing wipes).
func NewSecretTokenBytes(value []byte) SecretToken {
	b := append([]byte{}, value...)
	return SecretToken{b: &b}
}

// Reveal returns the secret. Callers must not log it.
func (s SecretToken) Reveal() string {
	if s.b == nil {
		return ""
	}
	return string(*s.b)
}

// Use calls f with the secret without copying it. f must not keep the string: the buffer
// behind it is wiped by Zero. (The C library copies it straight into host memory.)
func (s SecretToken) Use(f func(secret string)) {
	if s.b == nil || len(*s.b) == 0 {
		f("")
		return
	}
	f(unsafe.String(&(*s.b)[0], len(*s.b)))
}

// sum256 is the secret's SHA-256, read in place: no copy of the secret is left behind.
func (s SecretToken) sum256() [sha256.Size]byte {
	if s.b == nil {
		return sha256.Sum256(nil)
	}
	return sha256.Sum256(*s.b)
}

// IsEmpty reports whether the secret is absent or the empty string.
func (s SecretToken) IsEmpty() bool { return s.b == nil || len(*s.b) == 0 }

// Equal compares two secrets in constant time.
func (s SecretToken) Equal(o SecretToken) bool {
	var a, b []byte
	if s.b != nil {
		a = *s.b
	}
	if o.b != nil {
		b = *o.b
	}
	return subtle.ConstantTimeCompare(a, b) == 1
}

// Zero overwrites the secret's buffer. Best effort: Go may have copied the string
// elsewhere (Reveal returns a copy), but the buffer this value owns is wiped.
func (s SecretToken) Zero() {
	if s.b == nil {
		return
	}
	clear(*s.b)
	*s.b = (*s.b)[:0]
}

func (s SecretToken) String() string   { return secretMask }
func (s SecretToken) GoString() string { return "SecretToken(" + secretMask + ")" }

// Format masks the value under every verb, %x and %q included.
func (s SecretToken) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(secretMask))
}

func (s SecretToken) MarshalJSON() ([]byte, error) { return json.Marshal(s.Reveal()) }

func (s *SecretToken) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*s = SecretToken{} // absent, as upstream's Option
		return nil
	}
	var v string
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*s = NewSecretToken(v)
	return nil
}

// LogValue keeps secrets out of log/slog output.
func (s SecretToken) LogValue() slog.Value { return slog.StringValue(secretMask) }

// IsZero reports an absent secret; `omitzero` JSON fields rely on it.
func (s SecretToken) IsZero() bool { return s.b == nil }
