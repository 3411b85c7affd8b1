package stackauth

// docs/upstream.md 10.2, upstream token.rs: the token model, its boundary rules, the JSON shape of
// docs/protocol.md 3.1, the OAuth refresh call (docs/protocol.md 2.7) and its 402 classification.

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func portTokenExpiringAt(expiresAt uint64) *Token {
	return &Token{AccessToken: NewSecretToken("t"), TokenType: "Bearer", ExpiresAt: expiresAt}
}

func TestTokenModel_SecretTokenDebugDoesNotLeak(t *testing.T) {
	s := NewSecretToken("super_secret_value")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		assert.NotContainsf(t, fmt.Sprintf(verb, s), "super_secret_value", "verb %s", verb)
	}
	assert.Equal(t, "super_secret_value", s.Reveal())
}

func TestTokenModel_IsUsableAtBoundary(t *testing.T) {
	tok := portTokenExpiringAt(1000)
	assert.True(t, tok.IsUsableAt(999), "before expiry: usable")
	assert.False(t, tok.IsUsableAt(1000), "exactly at expiry: not usable")
	assert.False(t, tok.IsUsableAt(1001), "past expiry: not usable")
}

func TestTokenModel_IsExpiredAtLeewayWindow(t *testing.T) {
	tok := portTokenExpiringAt(1000)
	assert.False(t, tok.IsExpiredAt(909), "just outside the 90 s leeway")
	assert.True(t, tok.IsExpiredAt(910), "exactly at the leeway edge")
	assert.True(t, tok.IsExpiredAt(950) && tok.IsUsableAt(950), "inside the leeway: expired but still usable")
	assert.Equal(t, uint64(90), uint64(ExpiryLeewaySecs))
}

func TestTokenModel_IsExpiredAtSaturatesNearU64Max(t *testing.T) {
	tok := portTokenExpiringAt(math.MaxUint64)
	assert.NotPanics(t, func() {
		assert.True(t, tok.IsExpiredAt(math.MaxUint64), "saturating add must not wrap at the ceiling")
		assert.True(t, tok.IsExpiredAt(math.MaxUint64-10))
		assert.False(t, tok.IsExpiredAt(math.MaxUint64-100))
		assert.True(t, tok.IsUsableAt(math.MaxUint64-1))
	})
}

func TestTokenModel_ExpiresInSaturatesAtZero(t *testing.T) {
	tok := portTokenExpiringAt(1000)
	assert.Equal(t, uint64(100), tok.ExpiresInAt(900))
	assert.Equal(t, uint64(0), tok.ExpiresInAt(1000))
	assert.Equal(t, uint64(0), tok.ExpiresInAt(5000))
}

// ---- JSON shape (docs/protocol.md 3.1) ----

func TestTokenJSON_FullTokenHasTheDocumentedFieldsInOrder(t *testing.T) {
	tok := &Token{
		AccessToken:      NewSecretToken("eyJ.access"),
		RefreshToken:     NewSecretToken("refresh-1"),
		TokenType:        "Bearer",
		ExpiresAt:        1700003600,
		Region:           "ap-southeast-2.aws",
		ClientID:         "cli",
		DeviceInstanceID: "5f0c6f57-6b1e-4d55-9a53-3b8a0a9e4c11",
		FederatedFrom:    strings.Repeat("ab", 32),
	}
	want := `{"access_token":"eyJ.access","refresh_token":"refresh-1","token_type":"Bearer","expires_at":1700003600,` +
		`"region":"ap-southeast-2.aws","client_id":"cli","device_instance_id":"5f0c6f57-6b1e-4d55-9a53-3b8a0a9e4c11",` +
		`"federated_from":"` + strings.Repeat("ab", 32) + `"}`
	assert.Equal(t, want, string(portTokenJSON(t, tok)))
}

func TestTokenJSON_OptionalFieldsAreOmittedWhenAbsent(t *testing.T) {
	tok := &Token{AccessToken: NewSecretToken("eyJ.access"), TokenType: "Bearer", ExpiresAt: 4000000000}
	assert.Equal(t, `{"access_token":"eyJ.access","token_type":"Bearer","expires_at":4000000000}`, string(portTokenJSON(t, tok)))
}

func TestTokenJSON_RoundTripsEveryField(t *testing.T) {
	in := `{"access_token":"a","refresh_token":"r","token_type":"Bearer","expires_at":42,"region":"us-east-1.aws",` +
		`"client_id":"cli","device_instance_id":"dev-1","federated_from":"abc"}`
	var tok Token
	require.NoError(t, json.Unmarshal([]byte(in), &tok))
	assert.Equal(t, "a", tok.AccessToken.Reveal())
	assert.Equal(t, "r", tok.RefreshToken.Reveal())
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.Equal(t, uint64(42), tok.ExpiresAt)
	assert.Equal(t, "us-east-1.aws", tok.Region)
	assert.Equal(t, "cli", tok.ClientID)
	assert.Equal(t, "dev-1", tok.DeviceInstanceID)
	assert.Equal(t, "abc", tok.FederatedFrom)
	assert.Equal(t, in, string(portTokenJSON(t, &tok)))
}

func TestTokenJSON_ReadersIgnoreUnknownFieldsAndDefaultMissingOptionalOnes(t *testing.T) {
	var tok Token
	require.NoError(t, json.Unmarshal([]byte(`{"access_token":"a","token_type":"Bearer","expires_at":7,"future_field":{"x":1}}`), &tok))
	assert.True(t, tok.RefreshToken.IsEmpty())
	assert.Empty(t, tok.Region)
	assert.Empty(t, tok.ClientID)
	assert.Empty(t, tok.DeviceInstanceID)
	assert.Empty(t, tok.FederatedFrom)
	assert.Equal(t, `{"access_token":"a","token_type":"Bearer","expires_at":7}`, string(portTokenJSON(t, &tok)))
}

// serde reads an explicit null optional field as absent, so it is omitted again on write.
func TestTokenJSON_NullOptionalFieldsReadAsAbsent(t *testing.T) {
	var tok Token
	require.NoError(t, json.Unmarshal([]byte(`{"access_token":"a","refresh_token":null,"token_type":"Bearer","expires_at":7,"region":null}`), &tok))
	assert.True(t, tok.RefreshToken.IsEmpty())
	assert.Empty(t, tok.Region)
	assert.Equal(t, `{"access_token":"a","token_type":"Bearer","expires_at":7}`, string(portTokenJSON(t, &tok)),
		"an absent refresh token must stay absent after a round trip")
}

func TestTokenJSON_RequiredFieldsAreEnforced(t *testing.T) {
	cases := []struct{ name, in, missing string }{
		{"no access_token", `{"token_type":"Bearer","expires_at":1}`, "access_token"},
		{"no token_type", `{"access_token":"a","expires_at":1}`, "token_type"},
		{"no expires_at", `{"access_token":"a","token_type":"Bearer"}`, "expires_at"},
		{"empty object", `{}`, "access_token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var tok Token
			err := json.Unmarshal([]byte(tc.in), &tok)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.missing)

			_, err = decodeToken([]byte(tc.in))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.missing)
		})
	}
}

func TestTokenJSON_WrongTypesAreErrorsThatNeverQuoteTheInput(t *testing.T) {
	for _, in := range []string{
		`{"access_token":12345678901234567,"token_type":"Bearer","expires_at":1}`,
		`{"access_token":"a-very-secret-access-token","token_type":"Bearer","expires_at":"soon-and-secret"}`,
		`{"access_token":"a-very-secret-access-token","token_type":"Bearer","expires_at":-1}`,
		`{"access_token":"a-very-secret-access-token"`,
		`not json a-very-secret-access-token`,
	} {
		_, err := decodeToken([]byte(in))
		require.Errorf(t, err, "input %s", in)
		assert.NotContains(t, err.Error(), "secret")
		assert.NotContains(t, err.Error(), "12345678901234567")
	}
}

// ---- claims ----

func TestTokenClaims_WorkspaceIDExtractsFromJWT(t *testing.T) {
	tok := &Token{AccessToken: NewSecretToken(portJWT(t, "7366ITCXSAPCH5TN", 1700003600)), TokenType: "Bearer"}
	portRequireWorkspace(t, tok, "7366ITCXSAPCH5TN")
}

func TestTokenClaims_IssuerExtractsURLFromJWT(t *testing.T) {
	claims := ctsClaims(testWS, 1700003600)
	claims["iss"] = "https://cts.example.com"
	tok := &Token{AccessToken: NewSecretToken(makeJWT(t, claims)), TokenType: "Bearer"}
	iss, err := tok.Issuer()
	require.NoError(t, err)
	assert.Equal(t, "https://cts.example.com/", iss.String(), "URL normalisation adds the trailing slash")
}

func TestTokenClaims_WorkspaceIDFailsOnInvalidJWT(t *testing.T) {
	tok := &Token{AccessToken: NewSecretToken("not-a-jwt"), TokenType: "Bearer"}
	_, err := tok.WorkspaceID()
	portRequireCode(t, err, CodeInvalidToken)
}

func TestTokenClaims_IssuerFailsOnMissingClaims(t *testing.T) {
	tok := &Token{AccessToken: NewSecretToken(makeJWT(t, map[string]any{"sub": "user-123"})), TokenType: "Bearer"}
	_, err := tok.Issuer()
	portRequireCode(t, err, CodeInvalidToken)
	_, err = tok.WorkspaceID()
	portRequireCode(t, err, CodeInvalidToken)
}

func TestTokenClaims_WorkspaceCrnDerivesFromRegionAndWorkspace(t *testing.T) {
	tok := &Token{AccessToken: NewSecretToken(portJWT(t, "7366ITCXSAPCH5TN", 1700003600)), TokenType: "Bearer",
		Region: "ap-southeast-2.aws"}
	crn, err := tok.WorkspaceCrn()
	require.NoError(t, err)
	assert.Equal(t, "crn:ap-southeast-2.aws:7366ITCXSAPCH5TN", crn.String())
	assert.Equal(t, "7366ITCXSAPCH5TN", crn.WorkspaceID)
	assert.Equal(t, "ap-southeast-2.aws", crn.Region.Identifier())
}

func TestTokenClaims_WorkspaceCrnFailsWithoutRegion(t *testing.T) {
	tok := &Token{AccessToken: NewSecretToken(portJWT(t, "7366ITCXSAPCH5TN", 1700003600)), TokenType: "Bearer"}
	_, err := tok.WorkspaceCrn()
	portRequireCode(t, err, CodeNotAuthenticated)
}

func TestTokenClaims_WorkspaceCrnFailsWithInvalidRegion(t *testing.T) {
	tok := &Token{AccessToken: NewSecretToken(portJWT(t, "7366ITCXSAPCH5TN", 1700003600)), TokenType: "Bearer",
		Region: "invalid-region"}
	_, err := tok.WorkspaceCrn()
	ae := portRequireCode(t, err, CodeServer)
	assert.Contains(t, ae.Error(), "invalid-region")
}

func TestTokenClaims_WorkspaceIDAndIssuerResolveWithoutOrgID(t *testing.T) {
	claims := ctsClaims("7366ITCXSAPCH5TN", 1700003600)
	delete(claims, "org_id")
	delete(claims, "scope")
	delete(claims, "aud")
	tok := &Token{AccessToken: NewSecretToken(makeJWT(t, claims)), TokenType: "Bearer", Region: testRegion}
	portRequireWorkspace(t, tok, "7366ITCXSAPCH5TN")
	iss, err := tok.Issuer()
	require.NoError(t, err)
	assert.Equal(t, "https://cts.example.com/", iss.String())
	_, err = tok.WorkspaceCrn()
	require.NoError(t, err)
}

// ---- OAuth refresh (docs/protocol.md 2.7) through the unexported ctsClient.refresh ----

//lint:ignore ST1008 the result of refresh first, as refresh returns it; the fixtures follow
func portRefreshAgainst(t *testing.T, h http.HandlerFunc) (*Token, error, *fakeCTS, *ManualClock) {
	t.Helper()
	fake := newFakeCTS(t)
	fake.handle("/oauth/token", h)
	clock := testClock()
	tok, err := portCTS(t, fake.URL, clock).refresh(portCtx(t), NewSecretToken("test-refresh-token"), "cli", "")
	return tok, err, fake, clock
}

func TestTokenRefreshCall_Success(t *testing.T) {
	tok, err, fake, clock := portRefreshAgainst(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"access_token": "new-access-token", "token_type": "Bearer",
			"expires_in": 3600, "refresh_token": "new-refresh-token"})
	})
	require.NoError(t, err)
	now := uint64(clock.Now().Unix())
	assert.Equal(t, "new-access-token", tok.AccessToken.Reveal())
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.Equal(t, "new-refresh-token", tok.RefreshToken.Reveal())
	assert.False(t, tok.IsExpiredAt(now))
	assert.Equal(t, uint64(3600), tok.ExpiresInAt(now), "expires_in is relative to now")
	assert.Equal(t, 1, fake.count("/oauth/token"))
	assert.Equal(t, "grant_type=refresh_token&client_id=cli&refresh_token=test-refresh-token", fake.body("/oauth/token", 0))
}

func TestTokenRefreshCall_OAuthErrorsMapToTypedErrors(t *testing.T) {
	cases := []struct {
		name   string
		status int
		code   string
		want   string
	}{
		{"invalid_grant", 400, "invalid_grant", CodeInvalidGrant},
		{"invalid_client", 400, "invalid_client", CodeInvalidClient},
		{"access_denied", 400, "access_denied", CodeAccessDenied},
		{"403 access_denied is still access denied", 403, "access_denied", CodeAccessDenied},
		{"unknown error", 400, "something_unexpected", CodeServer},
		// docs/protocol.md 2.7 maps only invalid_grant, invalid_client and access_denied; any other
		// OAuth error code is an unclassified SERVER_ERROR carrying the description.
		{"expired_token is not one of the mapped refresh errors", 400, "expired_token", CodeServer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err, _, _ := portRefreshAgainst(t, portOAuthError(tc.status, tc.code))
			ae := portRequireCode(t, err, tc.want)
			if tc.want == CodeServer {
				assert.Equal(t, tc.code+" occurred", ae.Detail, "the server error carries error_description")
			}
		})
	}
}

func TestTokenRefreshCall_UnknownErrorIsServerErrorWithTheDescription(t *testing.T) {
	_, err, _, _ := portRefreshAgainst(t, portOAuthError(400, "something_unexpected"))
	ae := portRequireCode(t, err, CodeServer)
	assert.Equal(t, "something_unexpected occurred", ae.Detail)
	assert.Equal(t, "Server error: something_unexpected occurred", ae.Error())
}

func TestTokenRefreshCall_402WithCsCodeIsUsageLimitAndKeepsTheMessage(t *testing.T) {
	_, err, _, _ := portRefreshAgainst(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 402, map[string]any{"error": "access_denied",
			"error_description": "Workspace has exceeded its usage limit", "cs_code": "USAGE_LIMIT_EXCEEDED"})
	})
	ae := portRequireCode(t, err, CodeUsageLimitExceeded)
	assert.Equal(t, "Workspace has exceeded its usage limit", ae.Error(), "the description survives verbatim")
}

func TestTokenRefreshCall_402AccessDeniedWithoutCsCodeIsUsageLimit(t *testing.T) {
	_, err, _, _ := portRefreshAgainst(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 402, map[string]any{"error": "access_denied"})
	})
	ae := portRequireCode(t, err, CodeUsageLimitExceeded)
	assert.Equal(t, defaultUsageLimitMessage, ae.Error())
}

func TestTokenRefreshCall_402WithEmptyBodyIsUsageLimit(t *testing.T) {
	_, err, _, _ := portRefreshAgainst(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(402) })
	portRequireCode(t, err, CodeUsageLimitExceeded)
}

func TestTokenRefreshCall_402WithUnknownCsCodeDoesNotClaimUsageLimit(t *testing.T) {
	_, err, _, _ := portRefreshAgainst(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 402, map[string]any{"error": "access_denied", "cs_code": "SOMETHING_ELSE"})
	})
	require.Error(t, err)
	assert.NotEqual(t, CodeUsageLimitExceeded, AsAuthError(err).Code)
	assert.False(t, AsAuthError(err).IsAccountRefusal())
}

func TestTokenRefreshCall_UnparseableErrorBodyIsServerError(t *testing.T) {
	_, err, _, _ := portRefreshAgainst(t, func(w http.ResponseWriter, r *http.Request) { writeText(w, 500, "boom") })
	ae := portRequireCode(t, err, CodeServer)
	assert.Contains(t, ae.Error(), "500: unparseable error body")
}

func TestTokenRefreshCall_ResponseWithoutNewRefreshTokenHasNone(t *testing.T) {
	tok, err, _, _ := portRefreshAgainst(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"access_token": "new-access-token", "token_type": "Bearer", "expires_in": 3600})
	})
	require.NoError(t, err)
	assert.True(t, tok.RefreshToken.IsEmpty())
	assert.NotContains(t, string(portTokenJSON(t, tok)), "refresh_token")
}

func TestTokenRefreshCall_SendsTheDeviceInstanceIDOnlyWhenPresent(t *testing.T) {
	fake := newFakeCTS(t)
	fake.handle("/oauth/token", refreshOK(t, testClock(), "rt-2", time.Hour))
	c := portCTS(t, fake.URL, testClock())
	_, err := c.refresh(portCtx(t), NewSecretToken("rt"), "cli", "device-7")
	require.NoError(t, err)
	_, err = c.refresh(portCtx(t), NewSecretToken("rt"), "cli", "")
	require.NoError(t, err)
	assert.Equal(t, "grant_type=refresh_token&client_id=cli&refresh_token=rt&device_instance_id=device-7", fake.body("/oauth/token", 0))
	assert.Equal(t, "grant_type=refresh_token&client_id=cli&refresh_token=rt", fake.body("/oauth/token", 1),
		"never sent empty")
}

func TestTokenRefreshCall_DebugDoesNotLeakTokens(t *testing.T) {
	tok, err, _, _ := portRefreshAgainst(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"access_token": "new-access-token", "token_type": "Bearer",
			"expires_in": 3600, "refresh_token": "new-refresh-token"})
	})
	require.NoError(t, err)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{tok, *tok} {
			out := fmt.Sprintf(verb, v)
			assert.NotContainsf(t, out, "new-access-token", "verb %s on %T", verb, v)
			assert.NotContainsf(t, out, "new-refresh-token", "verb %s on %T", verb, v)
		}
	}
}
