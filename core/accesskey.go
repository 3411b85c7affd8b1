package stackauth

import "strings"

// AccessKey is a CipherStash access key, "CSAK<key_id>.<key_secret>". The whole original
// string is what the server receives; it never prints.
type AccessKey struct {
	keyID  string
	secret SecretToken // the whole key, CSAK prefix included
}

// InvalidAccessKey messages (docs/protocol.md 1.3), in the order they are checked.
const (
	accessKeyMissingPrefix = `access key must start with "CSAK"`
	accessKeyMissingDot    = `access key must contain a "." separator`
	accessKeyEmptyKeyID    = `access key ID must not be empty`
	accessKeyEmptySecret   = `access key secret must not be empty`
)

// ParseAccessKey validates s; errors are INVALID_ACCESS_KEY and never quote the key.
func ParseAccessKey(s string) (AccessKey, error) {
	rest, ok := strings.CutPrefix(s, "CSAK")
	if !ok {
		return AccessKey{}, newError(CodeInvalidAccessKey, accessKeyMissingPrefix)
	}
	id, secret, ok := strings.Cut(rest, ".")
	switch {
	case !ok:
		return AccessKey{}, newError(CodeInvalidAccessKey, accessKeyMissingDot)
	case id == "":
		return AccessKey{}, newError(CodeInvalidAccessKey, accessKeyEmptyKeyID)
	case secret == "":
		return AccessKey{}, newError(CodeInvalidAccessKey, accessKeyEmptySecret)
	}
	return AccessKey{keyID: id, secret: NewSecretToken(s)}, nil
}

// KeyID is the public part of the key; safe to log.
func (k AccessKey) KeyID() string { return k.keyID }

// Secret is the whole key as sent to the server.
func (k AccessKey) Secret() SecretToken { return k.secret }

func (k AccessKey) String() string   { return "AccessKey(" + secretMask + ")" }
func (k AccessKey) GoString() string { return k.String() }

// secretPart is the key's secret alone (after the first "."), to mask it where it could be
// echoed without its id.
func (k AccessKey) secretPart() SecretToken {
	_, secret, _ := strings.Cut(k.secret.Reveal(), ".")
	return NewSecretToken(secret)
}
