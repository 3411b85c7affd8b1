package stackauth

// docs/upstream.md 10.1, upstream access_key.rs.

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAccessKeyParse_ValidKeyKeepsTheWholeOriginalString(t *testing.T) {
	const raw = "CSAKT4ZMT2AUPXI7TCD2.ZAQRW2TBLNPXCGYK4ZDGQHLOK5JI5RDLQV3Y4QM3HNQFBQS2"
	k, err := ParseAccessKey(raw)
	require.NoError(t, err)
	assert.Equal(t, raw, k.Secret().Reveal(), "the whole key, CSAK included, is what the server receives")
	assert.Equal(t, "T4ZMT2AUPXI7TCD2", k.KeyID())
}

func TestAccessKeyParse_RejectsMalformedKeysWithTheDocumentedReason(t *testing.T) {
	cases := []struct {
		name, input, reason string
	}{
		{"missing prefix", "key_id.key_secret", `access key must start with "CSAK"`},
		{"missing dot", "CSAKnodot", `access key must contain a "." separator`},
		{"empty key id", "CSAK.secret", `access key ID must not be empty`},
		{"empty secret", "CSAKid.", `access key secret must not be empty`},
		{"empty string", "", `access key must start with "CSAK"`},
		{"prefix is case-sensitive", "csakid.secret", `access key must start with "CSAK"`},
		// Doc examples.
		{"doc: not-a-valid-key", "not-a-valid-key", `access key must start with "CSAK"`},
		{"doc: CSAKmissing-dot", "CSAKmissing-dot", `access key must contain a "." separator`},
		{"doc: CSAK.no-key-id", "CSAK.no-key-id", `access key ID must not be empty`},
		{"doc: CSAKno-secret.", "CSAKno-secret.", `access key secret must not be empty`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAccessKey(tc.input)
			ae := portRequireCode(t, err, CodeInvalidAccessKey)
			assert.Equal(t, tc.reason, ae.Detail)
			assert.Equal(t, "Invalid access key: "+tc.reason, ae.Error())
			if len(tc.input) > 4 {
				assert.NotContains(t, ae.Error(), tc.input, "the error never quotes the key")
			}
		})
	}
}

func TestAccessKeyParse_SecretMayContainFurtherDots(t *testing.T) {
	k, err := ParseAccessKey("CSAKid.sec.ret.")
	require.NoError(t, err)
	assert.Equal(t, "id", k.KeyID(), "the key is split at the first dot")
	assert.Equal(t, "CSAKid.sec.ret.", k.Secret().Reveal())
}

func TestAccessKeyParse_IntoSecretTokenRoundTrips(t *testing.T) {
	k, err := ParseAccessKey("CSAKmyKeyId.myKeySecret")
	require.NoError(t, err)
	assert.Equal(t, "CSAKmyKeyId.myKeySecret", k.Secret().Reveal())
	assert.Equal(t, "myKeyId", k.KeyID())
}

func TestAccessKeyParse_DebugDoesNotLeakTheSecret(t *testing.T) {
	k, err := ParseAccessKey("CSAKmyKeyId.mySecretValue")
	require.NoError(t, err)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, k)
		assert.NotContainsf(t, out, "mySecretValue", "verb %s", verb)
		assert.NotContainsf(t, out, "secret", "verb %s", verb)
		assert.Containsf(t, out, "AccessKey", "verb %s", verb)
		assert.Containsf(t, out, "***", "verb %s", verb)
	}
}
