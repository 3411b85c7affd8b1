package stackauth

// docs/upstream.md 10.3, upstream service_token.rs.

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func portServiceToken(t *testing.T, claims map[string]any) ServiceToken {
	return NewServiceToken(NewSecretToken(makeJWT(t, claims)))
}

func TestServiceToken_JWTProvidesIssuer(t *testing.T) {
	st := portServiceToken(t, ctsClaims(testWS, 1700003600))
	iss, err := st.Issuer()
	require.NoError(t, err)
	assert.Equal(t, "https://cts.example.com/", iss.String())
}

func TestServiceToken_NonJWTReturnsErrorsWithReason(t *testing.T) {
	st := NewServiceToken(NewSecretToken("not-a-jwt"))
	assert.Equal(t, "not-a-jwt", st.Token().Reveal(), "construction never fails; the raw token is kept")
	_, err := st.Issuer()
	ae := portRequireCode(t, err, CodeInvalidToken)
	assert.Contains(t, ae.Error(), "three segments")
	assert.NotContains(t, ae.Error(), "Invalid token: Invalid token", "the reason is not prefixed twice")
}

func TestServiceToken_NonURLIssuerFailsTheWholeDecode(t *testing.T) {
	claims := ctsClaims(testWS, 1700003600)
	claims["iss"] = "not a url"
	st := portServiceToken(t, claims)
	_, err := st.Subject()
	ae := portRequireCode(t, err, CodeInvalidToken)
	assert.Contains(t, ae.Error(), "iss claim is not a valid URL")
}

func TestServiceToken_ZeroKMSURLFromServicesClaim(t *testing.T) {
	st := portServiceToken(t, ctsClaims(testWS, 1700003600))
	u, err := st.ZeroKMSURL()
	require.NoError(t, err)
	assert.Equal(t, "https://zerokms.example.com/", u.String())
}

func TestServiceToken_ZeroKMSURLFromServicesClaimLocalhost(t *testing.T) {
	claims := ctsClaims(testWS, 1700003600)
	claims["services"] = map[string]any{"zerokms": "http://localhost:3002"}
	u, err := portServiceToken(t, claims).ZeroKMSURL()
	require.NoError(t, err)
	assert.Equal(t, "http://localhost:3002/", u.String())
}

func TestServiceToken_ZeroKMSURLErrorsWhenServicesClaimMissing(t *testing.T) {
	claims := ctsClaims(testWS, 1700003600)
	delete(claims, "services")
	_, err := portServiceToken(t, claims).ZeroKMSURL()
	ae := portRequireCode(t, err, CodeInvalidToken)
	assert.Contains(t, ae.Error(), "services claim")
}

func TestServiceToken_ZeroKMSURLErrorsForNonJWT(t *testing.T) {
	_, err := NewServiceToken(NewSecretToken("not-a-jwt")).ZeroKMSURL()
	portRequireCode(t, err, CodeInvalidToken)
}

func TestServiceToken_ServicesReturnsMapForValidJWT(t *testing.T) {
	claims := ctsClaims(testWS, 1700003600)
	claims["services"] = map[string]any{"zerokms": "https://zerokms.example.com/", "other": "https://other.example.com/"}
	m, err := portServiceToken(t, claims).Services()
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"zerokms": "https://zerokms.example.com/", "other": "https://other.example.com/"}, m)
}

func TestServiceToken_ServicesReturnsEmptyMapWhenClaimMissing(t *testing.T) {
	claims := ctsClaims(testWS, 1700003600)
	delete(claims, "services")
	m, err := portServiceToken(t, claims).Services()
	require.NoError(t, err)
	assert.NotNil(t, m)
	assert.Empty(t, m)
}

func TestServiceToken_ServicesErrorsForNonJWT(t *testing.T) {
	_, err := NewServiceToken(NewSecretToken("not-a-jwt")).Services()
	portRequireCode(t, err, CodeInvalidToken)
}

func TestServiceToken_SubjectFromValidJWT(t *testing.T) {
	sub, err := portServiceToken(t, ctsClaims(testWS, 1700003600)).Subject()
	require.NoError(t, err)
	assert.Equal(t, "CS|test-user", sub)
}

func TestServiceToken_SubjectErrorsForNonJWT(t *testing.T) {
	_, err := NewServiceToken(NewSecretToken("not-a-jwt")).Subject()
	portRequireCode(t, err, CodeInvalidToken)
}

func TestServiceToken_WorkspaceIDFromValidJWT(t *testing.T) {
	ws, err := portServiceToken(t, ctsClaims(testWS, 1700003600)).WorkspaceID()
	require.NoError(t, err)
	assert.Equal(t, testWS, ws)
}

func TestServiceToken_WorkspaceIDErrorsForNonJWT(t *testing.T) {
	_, err := NewServiceToken(NewSecretToken("not-a-jwt")).WorkspaceID()
	portRequireCode(t, err, CodeInvalidToken)
}

func TestServiceToken_VerifyWorkspaceReturnsNilWhenWorkspaceMatches(t *testing.T) {
	assert.NoError(t, portServiceToken(t, ctsClaims(testWS, 1700003600)).VerifyWorkspace(testWS))
}

func TestServiceToken_VerifyWorkspaceErrorsWithMismatchWhenWorkspaceDiffers(t *testing.T) {
	err := portServiceToken(t, ctsClaims(testWS, 1700003600)).VerifyWorkspace(otherWS)
	ae := portRequireCode(t, err, CodeWorkspaceMismatch)
	assert.Equal(t, map[string]any{"expected": otherWS, "actual": testWS}, ae.Payload)
	assert.Equal(t, "Workspace mismatch: token issued for "+testWS+", but strategy is configured for "+otherWS, ae.Error())
}

func TestServiceToken_VerifyWorkspaceErrorsWithInvalidTokenForNonJWT(t *testing.T) {
	err := NewServiceToken(NewSecretToken("not-a-jwt")).VerifyWorkspace(testWS)
	portRequireCode(t, err, CodeInvalidToken)
}

func TestServiceToken_DebugDoesNotLeakSecret(t *testing.T) {
	jwt := portJWT(t, testWS, 1700003600)
	st := NewServiceToken(NewSecretToken(jwt))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		for _, v := range []any{st, &st} {
			out := fmt.Sprintf(verb, v)
			assert.NotContainsf(t, out, jwt[:20], "verb %s on %T", verb, v)
		}
	}
	assert.Contains(t, fmt.Sprintf("%v", st), "***")
}

func TestServiceToken_ResolvesDiscoveryClaimsWithoutOrgID(t *testing.T) {
	claims := ctsClaims(testWS, 1700003600)
	delete(claims, "org_id")
	st := portServiceToken(t, claims)
	_, err := st.Issuer()
	require.NoError(t, err)
	_, err = st.WorkspaceID()
	require.NoError(t, err)
	_, err = st.Subject()
	require.NoError(t, err)
	_, err = st.ZeroKMSURL()
	require.NoError(t, err)
}

func TestServiceToken_HeaderWithNonStringFieldsDecodes(t *testing.T) {
	// Clerk's JWT headers carry "srf": true; the header is never parsed.
	jwt := portJWT(t, testWS, 1700003600)
	_, rest, ok := strings.Cut(jwt, ".")
	require.True(t, ok)
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","srf":true,"kid":7}`))
	st := NewServiceToken(NewSecretToken(header + "." + rest))
	ws, err := st.WorkspaceID()
	require.NoError(t, err)
	assert.Equal(t, testWS, ws)
}
