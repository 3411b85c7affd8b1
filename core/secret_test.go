package stackauth

// Secret hygiene (docs/protocol.md 1.4): no secret-carrying type prints its secret under
// any fmt verb or through log/slog, while the JSON of a Token keeps the plain strings
// (it is the stored shape).

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type portSecretCase struct {
	name    string
	value   any
	secrets []string
}

func portSecretCases(t *testing.T) []portSecretCase {
	jwt := portJWT(t, testWS, 1_700_003_600)
	payload := strings.Split(jwt, ".")[1]
	key, err := ParseAccessKey("CSAKkeyid.sekrit-key-material")
	require.NoError(t, err)
	tok := &Token{AccessToken: NewSecretToken("sekrit-access-token"), RefreshToken: NewSecretToken("sekrit-refresh-token"),
		TokenType: "Bearer", ExpiresAt: 1_700_003_600, Region: testRegion, ClientID: "cli"}
	st := NewServiceToken(NewSecretToken(jwt))
	pending := &PendingDeviceCode{UserCode: "ABCD-EFGH", VerificationURI: "https://cts.example.com/device",
		ExpiresIn: 900, deviceCode: NewSecretToken("sekrit-device-code")}
	return []portSecretCase{
		{"SecretToken", NewSecretToken("sekrit-plain"), []string{"sekrit-plain"}},
		{"*SecretToken", ptr(NewSecretToken("sekrit-plain")), []string{"sekrit-plain"}},
		{"AccessKey", key, []string{"sekrit-key-material"}},
		{"*AccessKey", &key, []string{"sekrit-key-material"}},
		{"*Token", tok, []string{"sekrit-access-token", "sekrit-refresh-token"}},
		{"Token", *tok, []string{"sekrit-access-token", "sekrit-refresh-token"}},
		{"ServiceToken", st, []string{jwt, payload}},
		{"*ServiceToken", &st, []string{jwt, payload}},
		{"*PendingDeviceCode", pending, []string{"sekrit-device-code"}},
	}
}

func ptr[T any](v T) *T { return &v }

func portAssertNoSecret(t *testing.T, out string, secrets []string, how string) {
	t.Helper()
	for _, s := range secrets {
		assert.NotContainsf(t, out, s, "%s leaks the secret", how)
		assert.NotContainsf(t, out, hex.EncodeToString([]byte(s)), "%s leaks the secret in hex", how)
		assert.NotContainsf(t, out, strings.ToUpper(hex.EncodeToString([]byte(s))), "%s leaks the secret in HEX", how)
	}
}

func TestSecretHygiene_NoVerbPrintsASecret(t *testing.T) {
	for _, tc := range portSecretCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
				portAssertNoSecret(t, fmt.Sprintf(verb, tc.value), tc.secrets, "verb "+verb)
			}
			portAssertNoSecret(t, fmt.Sprint(tc.value), tc.secrets, "Sprint")
			portAssertNoSecret(t, fmt.Sprintln(tc.value), tc.secrets, "Sprintln")
		})
	}
}

func TestSecretHygiene_SlogNeverPrintsASecret(t *testing.T) {
	for _, tc := range portSecretCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			var jsonBuf, textBuf bytes.Buffer
			jsonLog := slog.New(slog.NewJSONHandler(&jsonBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			textLog := slog.New(slog.NewTextHandler(&textBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			for _, l := range []*slog.Logger{jsonLog, textLog} {
				l.Info("value", "v", tc.value)
				l.Debug("any", slog.Any("v", tc.value))
				l.With("bound", tc.value).Warn("with")
				l.Info("group", slog.Group("g", "v", tc.value))
			}
			portAssertNoSecret(t, jsonBuf.String(), tc.secrets, "slog JSON handler")
			portAssertNoSecret(t, textBuf.String(), tc.secrets, "slog text handler")
		})
	}
}

func TestSecretHygiene_TokenJSONStillCarriesThePlainStrings(t *testing.T) {
	tok := &Token{AccessToken: NewSecretToken("sekrit-access-token"), RefreshToken: NewSecretToken("sekrit-refresh-token"),
		TokenType: "Bearer", ExpiresAt: 1_700_003_600}
	data, err := json.Marshal(tok)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"access_token":"sekrit-access-token"`)
	assert.Contains(t, string(data), `"refresh_token":"sekrit-refresh-token"`)

	data, err = json.Marshal(NewSecretToken("sekrit-plain"))
	require.NoError(t, err)
	assert.Equal(t, `"sekrit-plain"`, string(data), "SecretToken is a plain JSON string")
	assert.Equal(t, "sekrit-plain", portDecodeJSON[SecretToken](t, data).Reveal())
}

func TestSecretHygiene_ErrorsNeverCarryTheSecret(t *testing.T) {
	// Parse errors of an access key, a token file and a JWT never quote their input.
	_, err := ParseAccessKey("CSAKkeyid-without-a-dot-sekrit")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "sekrit")

	_, err = decodeToken([]byte(`{"access_token":"sekrit-access-token","token_type":7,"expires_at":1}`))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "sekrit")

	_, err = NewServiceToken(NewSecretToken("sekrit.eyJub3QganNvbg.sig")).Subject()
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "sekrit")
}

func TestSecretHygiene_ZeroWipesEveryCopy(t *testing.T) {
	s := NewSecretToken("sekrit-plain")
	c := s
	s.Zero()
	assert.Empty(t, c.Reveal(), "copies share one buffer")
	assert.True(t, c.IsEmpty())
	assert.False(t, s.IsZero(), "a wiped secret is empty, not absent")
	var zero SecretToken
	assert.NotPanics(t, zero.Zero)
	assert.True(t, zero.IsZero())
}

func TestSecretHygiene_EqualComparesValues(t *testing.T) {
	assert.True(t, NewSecretToken("a").Equal(NewSecretToken("a")))
	assert.False(t, NewSecretToken("a").Equal(NewSecretToken("b")))
	assert.True(t, SecretToken{}.Equal(NewSecretToken("")))
}

// NewSecretTokenBytes keeps its own copy: the caller's buffer can be wiped (the C ABI clears
// what a hook resolved with) and the secret stays; Zero wipes the one copy it made.
func TestSecretHygiene_FromBytesCopiesOnce(t *testing.T) {
	in := []byte("sekrit-bytes")
	s := NewSecretTokenBytes(in)
	clear(in)
	assert.Equal(t, "sekrit-bytes", s.Reveal())
	assert.False(t, s.IsZero(), "an empty value is empty, not absent")
	assert.True(t, NewSecretTokenBytes(nil).IsEmpty())
	assert.False(t, NewSecretTokenBytes(nil).IsZero())
	s.Zero()
	assert.True(t, s.IsEmpty())
}
