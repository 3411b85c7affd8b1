package stackauth

// docs/upstream.md 10.3, upstream service_token.rs.

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func portServiceToken(t *testing.T, claims map[string]any) ServiceToken {
	return NewServiceToken(NewSecretToken(makeJWT(t, claims)))
}

// urlText reads a URL claim as text.
func urlText(read func(ServiceToken) (*url.URL, error)) func(ServiceToken) (string, error) {
	return func(st ServiceToken) (string, error) {
		u, err := read(st)
		if err != nil {
			return "", err
		}
		return u.String(), nil
	}
}

func TestServiceToken_ValidJWTProvidesEachClaim(t *testing.T) {
	st := portServiceToken(t, ctsClaims(testWS, 1700003600))
	for _, tc := range []struct {
		name string
		read func(ServiceToken) (string, error)
		want string
	}{
		{"Issuer", urlText(ServiceToken.Issuer), "https://cts.example.com/"},
		{"ZeroKMSURL from the services claim", urlText(ServiceToken.ZeroKMSURL), "https://zerokms.example.com/"},
		{"Subject", ServiceToken.Subject, "CS|test-user"},
		{"WorkspaceID", ServiceToken.WorkspaceID, testWS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.read(st)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestServiceToken_EveryClaimOfANonJWTIsInvalidToken(t *testing.T) {
	st := NewServiceToken(NewSecretToken("not-a-jwt"))
	for _, tc := range []struct {
		name string
		read func(ServiceToken) error
	}{
		{"ZeroKMSURL", func(st ServiceToken) error { _, err := st.ZeroKMSURL(); return err }},
		{"Services", func(st ServiceToken) error { _, err := st.Services(); return err }},
		{"Subject", func(st ServiceToken) error { _, err := st.Subject(); return err }},
		{"WorkspaceID", func(st ServiceToken) error { _, err := st.WorkspaceID(); return err }},
		{"VerifyWorkspace", func(st ServiceToken) error { return st.VerifyWorkspace(testWS) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			portRequireCode(t, tc.read(st), CodeInvalidToken)
		})
	}
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

func TestServiceToken_VerifyWorkspaceReturnsNilWhenWorkspaceMatches(t *testing.T) {
	assert.NoError(t, portServiceToken(t, ctsClaims(testWS, 1700003600)).VerifyWorkspace(testWS))
}

func TestServiceToken_VerifyWorkspaceErrorsWithMismatchWhenWorkspaceDiffers(t *testing.T) {
	err := portServiceToken(t, ctsClaims(testWS, 1700003600)).VerifyWorkspace(otherWS)
	ae := portRequireCode(t, err, CodeWorkspaceMismatch)
	assert.Equal(t, map[string]any{"expected": otherWS, "actual": testWS}, ae.Payload)
	assert.Equal(t, "Workspace mismatch: token issued for "+testWS+", but strategy is configured for "+otherWS, ae.Error())
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
	portRequireWorkspace(t, st, testWS)
}
