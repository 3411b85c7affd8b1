package stackauth

// docs/upstream.md 10.14, upstream error.rs and lib.rs: the 402 classifier (table and generated
// bodies), retryability and account refusal for every code, help text, FromErrorCode, the
// JSON envelope, errors.Is with the sentinels, and the DeviceClientError mapping.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackauth/stack-auth/core/profile"
)

const (
	portOAuth402 = `{
		"error": "access_denied",
		"error_description": "Workspace has exceeded its usage limit and cannot issue an access token",
		"cs_code": "USAGE_LIMIT_EXCEEDED"
	}`
	portAuthorize402 = `{
		"error": "usage_limit_exceeded",
		"error_description": "Workspace has exceeded its usage limit and cannot issue an access token"
	}`
)

// ---- classifier ----

func TestClassify_OAuthBodyIsUsageLimitDespiteAccessDeniedCode(t *testing.T) {
	err := classifyIssuanceFailure(402, []byte(portOAuth402))
	require.NotNil(t, err)
	assert.Equal(t, CodeUsageLimitExceeded, err.Code)
	assert.Contains(t, err.Error(), "exceeded its usage limit")
}

func TestClassify_AuthorizeBodyIsUsageLimit(t *testing.T) {
	err := classifyIssuanceFailure(402, []byte(portAuthorize402))
	require.NotNil(t, err)
	assert.Equal(t, CodeUsageLimitExceeded, err.Code)
}

func TestClassify_Bare402WithoutBodyStillClassifies(t *testing.T) {
	for _, body := range []string{"", "   ", "\n\t"} {
		err := classifyIssuanceFailure(402, []byte(body))
		require.NotNilf(t, err, "body %q", body)
		assert.Equal(t, CodeUsageLimitExceeded, err.Code)
		assert.Equal(t, defaultUsageLimitMessage, err.Error())
	}
	require.NotNil(t, classifyIssuanceFailure(402, nil))
}

func TestClassify_UnknownCsCodeDeclinesToClassify(t *testing.T) {
	assert.Nil(t, classifyIssuanceFailure(402, []byte(`{"error": "access_denied", "cs_code": "SOMETHING_ELSE"}`)))
}

func TestClassify_Non402StatusesAreLeftAlone(t *testing.T) {
	for _, status := range []int{200, 400, 401, 403, 404, 500, 503} {
		assert.Nilf(t, classifyIssuanceFailure(status, []byte(portOAuth402)), "status %d", status)
		assert.Nilf(t, classifyIssuanceFailure(status, nil), "status %d, empty body", status)
	}
}

func TestClassify_UnreadableCsCodeDeclinesToClassify(t *testing.T) {
	for _, body := range []string{
		`{"cs_code": 42}`, `{"cs_code": null}`, `{"cs_code": {}}`, `{"cs_code": []}`,
		`{"cs_code": true}`, `{"cs_code": ""}`, `{"cs_code": "   "}`,
	} {
		assert.Nilf(t, classifyIssuanceFailure(402, []byte(body)), "body %s", body)
	}
}

func TestClassify_NonObjectAndNonJSONBodiesAreHandled(t *testing.T) {
	for _, body := range []string{"<html>502 Bad Gateway</html>", "[]", "null", "7", `"a string"`, "", "   ", "{"} {
		assert.NotPanics(t, func() {
			if err := classifyIssuanceFailure(402, []byte(body)); err != nil {
				assert.NotEmptyf(t, strings.TrimSpace(err.Error()), "body %q", body)
			}
		})
	}
}

func TestClassify_NonCTSShapedBodiesDeclineToClassify(t *testing.T) {
	for _, body := range []string{"<html>502 Bad Gateway</html>", "[]", "null", "7", `"a string"`, "{", "not json at all",
		`[{"cs_code":"USAGE_LIMIT_EXCEEDED"}]`, `{} trailing`} {
		assert.Nilf(t, classifyIssuanceFailure(402, []byte(body)), "body %q", body)
	}
}

func TestClassify_CsCodeIsTrimmedAndSelectsTheRefusal(t *testing.T) {
	err := classifyIssuanceFailure(402, []byte(`{"cs_code":"  ORG_NOT_PROVISIONED ","error_description":"  no org  "}`))
	require.NotNil(t, err)
	assert.Equal(t, CodeOrgNotProvisioned, err.Code)
	assert.Equal(t, "no org", err.Error(), "the description is trimmed")

	err = classifyIssuanceFailure(402, []byte(`{"cs_code":"ORG_NOT_PROVISIONED"}`))
	require.NotNil(t, err)
	assert.Equal(t, defaultNotProvisionedText, err.Error())
}

func TestClassify_NonStringDescriptionFallsBackToTheDefault(t *testing.T) {
	err := classifyIssuanceFailure(402, []byte(`{"error_description": 5}`))
	require.NotNil(t, err)
	assert.Equal(t, defaultUsageLimitMessage, err.Error())
}

func TestClassify_BlankDescriptionFallsBackToDefault(t *testing.T) {
	err := classifyIssuanceFailure(402, []byte(`{"error": "access_denied", "error_description": "   "}`))
	require.NotNil(t, err)
	assert.Equal(t, defaultUsageLimitMessage, err.Error())
}

func TestClassify_NotProvisionedIsNotReportedAsAUsageLimit(t *testing.T) {
	err := classifyIssuanceFailure(402, []byte(`{"error":"access_denied","cs_code":"ORG_NOT_PROVISIONED",
		"error_description":"Organisation is not provisioned"}`))
	require.NotNil(t, err)
	assert.Equal(t, CodeOrgNotProvisioned, err.Code)
	assert.NotContains(t, strings.ToLower(err.Error()), "upgrade", "there is no plan to upgrade")
	assert.False(t, errors.Is(err, ErrUsageLimitExceeded))
	assert.ErrorIs(t, err, ErrOrgNotProvisioned)
}

// ---- classifier properties over generated bodies ----

// portIssuanceBodies generates bodies with the structure the classifier inspects (plus
// noise), deterministically.
func portIssuanceBodies(n int) []string {
	r := rand.New(rand.NewPCG(402, 2026))
	upper := func(max int) string {
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
		b := make([]byte, 1+r.IntN(max))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	printable := func(max int) string {
		runes := []rune("abc XYZ 019 ., é ü 漢字 \t\n\"\\{}[]<>:")
		b := make([]rune, r.IntN(max+1))
		for i := range b {
			b[i] = runes[r.IntN(len(runes))]
		}
		return string(b)
	}
	bodies := []string{"", "{", "   "}
	for len(bodies) < n {
		switch r.IntN(4) {
		case 0:
			bodies = append(bodies, printable(64))
		default:
			obj := map[string]any{"error": "access_denied"}
			switch r.IntN(9) {
			case 0: // absent
			case 1:
				obj["cs_code"] = CodeUsageLimitExceeded
			case 2:
				obj["cs_code"] = CodeOrgNotProvisioned
			case 3:
				obj["cs_code"] = " " + CodeUsageLimitExceeded + "\t"
			case 4:
				obj["cs_code"] = upper(20)
			case 5:
				obj["cs_code"] = 42
			case 6:
				obj["cs_code"] = nil
			case 7:
				obj["cs_code"] = map[string]any{}
			case 8:
				obj["cs_code"] = "   "
			}
			switch r.IntN(4) {
			case 0: // absent
			case 1:
				obj["error_description"] = "   "
			case 2:
				obj["error_description"] = printable(64)
			case 3:
				obj["error_description"] = r.IntN(100)
			}
			b, _ := json.Marshal(obj)
			bodies = append(bodies, string(b))
		}
	}
	return bodies
}

// portOracle decides, independently of the implementation, what a 402 body classifies as
// ("" = declines) and with which message.
func portOracle(body string) (code, message string) {
	if strings.TrimSpace(body) == "" {
		return CodeUsageLimitExceeded, defaultUsageLimitMessage
	}
	var v any
	if json.Unmarshal([]byte(body), &v) != nil {
		return "", ""
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return "", ""
	}
	code = CodeUsageLimitExceeded
	if cs, present := obj["cs_code"]; present {
		s, _ := cs.(string)
		switch strings.TrimSpace(s) {
		case CodeUsageLimitExceeded:
		case CodeOrgNotProvisioned:
			code = CodeOrgNotProvisioned
		default:
			return "", ""
		}
	}
	desc, _ := obj["error_description"].(string)
	// Upstream trims; we also keep it to one redacted line (serverText).
	if desc = serverText([]byte(desc)); desc != "" {
		return code, desc
	}
	if code == CodeOrgNotProvisioned {
		return code, defaultNotProvisionedText
	}
	return code, defaultUsageLimitMessage
}

func TestClassify_Property_ClassificationIsExactlyThe402Branch(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i, body := range portIssuanceBodies(2000) {
		status := 402
		if i%2 == 1 {
			status = 100 + r.IntN(500)
		}
		wantCode, _ := portOracle(body)
		got := classifyIssuanceFailure(status, []byte(body))
		require.Equalf(t, status == 402 && wantCode != "", got != nil, "status %d body %q", status, body)
	}
}

func TestClassify_Property_ClassifiedErrorsAlwaysCarryAMessage(t *testing.T) {
	classified := 0
	for _, body := range portIssuanceBodies(2000) {
		wantCode, _ := portOracle(body)
		if wantCode == "" {
			continue
		}
		classified++
		got := classifyIssuanceFailure(402, []byte(body))
		require.NotNilf(t, got, "body %q", body)
		assert.NotEmptyf(t, strings.TrimSpace(got.Error()), "body %q", body)
		assert.Equalf(t, wantCode, got.Code, "body %q", body)
	}
	assert.Greater(t, classified, 300, "the generator must exercise the classifying branch")
}

func TestClassify_Property_TheMessageComesFromTheBodyOrTheDefault(t *testing.T) {
	for _, body := range portIssuanceBodies(2000) {
		wantCode, wantMessage := portOracle(body)
		if wantCode == "" {
			continue
		}
		got := classifyIssuanceFailure(402, []byte(body))
		require.NotNilf(t, got, "body %q", body)
		assert.Equalf(t, wantMessage, got.Error(), "body %q", body)
	}
}

func TestClassify_Property_AClassifiedRefusalIsNeverRetryable(t *testing.T) {
	for _, body := range portIssuanceBodies(2000) {
		if got := classifyIssuanceFailure(402, []byte(body)); got != nil {
			assert.Falsef(t, got.Retryable(), "body %q", body)
			assert.Truef(t, got.IsAccountRefusal(), "body %q", body)
		}
	}
}

// ---- every code ----

// portAllCodes is docs/errors.md's table: code → Display with detail "DETAIL" (or fixed).
var portAllCodes = map[string]string{
	"REQUEST_ERROR":  "Request to the auth server failed: DETAIL",
	"ACCESS_DENIED":  "Authorization was denied",
	"INVALID_GRANT":  "Invalid grant",
	"INVALID_CLIENT": "Invalid client",
	"INVALID_URL":    "Invalid URL: DETAIL",
	"INVALID_REGION": "Unsupported region: DETAIL",
	"INVALID_CRN":    "Invalid workspace CRN: DETAIL",
	// Upstream's text names a Rust builder: Rust hosts get it (TestMissingCrnHelpNamesTheCallersAPI).
	"MISSING_WORKSPACE_CRN": "Workspace CRN is required when using an access key — set CS_WORKSPACE_CRN or pass the workspace CRN",
	"NOT_AUTHENTICATED":     "Not authenticated",
	"EXPIRED_TOKEN":         "Token expired",
	"INVALID_ACCESS_KEY":    "Invalid access key: DETAIL",
	"INVALID_TOKEN":         "Invalid token: DETAIL",
	"SERVER_ERROR":          "Server error: DETAIL",
	"STORE_ERROR":           "Token store error: DETAIL",
	"WORKSPACE_MISMATCH":    "Workspace mismatch: token issued for AAAAAAAAAAAAAAAA, but strategy is configured for ZVATKW3VHMFG27DY",
	"INVALID_WORKSPACE_ID":  "Invalid workspace ID: DETAIL",
	"USAGE_LIMIT_EXCEEDED":  "DETAIL",
	"ORG_NOT_PROVISIONED":   "DETAIL",
	"ALREADY_CONSUMED":      "Handle already consumed",
	"INTERNAL_ERROR":        "Internal error: DETAIL",
	"CUSTOM":                "DETAIL",
}

// portErrorOf builds a real instance of code.
func portErrorOf(code string) *AuthError {
	if code == CodeWorkspaceMismatch {
		return NewWorkspaceMismatch(testWS, otherWS)
	}
	return newError(code, "DETAIL")
}

func TestAuthErrors_CodeIsStableForEveryVariantAndErrorCodesIsExhaustive(t *testing.T) {
	want := make([]string, 0, len(portAllCodes))
	for code := range portAllCodes {
		want = append(want, code)
	}
	assert.ElementsMatch(t, want, ErrorCodes)
	seen := map[string]bool{}
	for _, c := range ErrorCodes {
		assert.Falsef(t, seen[c], "duplicate code %s", c)
		seen[c] = true
	}
	sentinels := map[*AuthError]string{
		ErrRequest: "REQUEST_ERROR", ErrAccessDenied: "ACCESS_DENIED", ErrInvalidGrant: "INVALID_GRANT",
		ErrInvalidClient: "INVALID_CLIENT", ErrInvalidURL: "INVALID_URL", ErrInvalidRegion: "INVALID_REGION",
		ErrInvalidCrn: "INVALID_CRN", ErrMissingWorkspaceCrn: "MISSING_WORKSPACE_CRN",
		ErrNotAuthenticated: "NOT_AUTHENTICATED", ErrTokenExpired: "EXPIRED_TOKEN",
		ErrInvalidAccessKey: "INVALID_ACCESS_KEY", ErrInvalidToken: "INVALID_TOKEN", ErrServer: "SERVER_ERROR",
		ErrStore: "STORE_ERROR", ErrWorkspaceMismatch: "WORKSPACE_MISMATCH",
		ErrInvalidWorkspaceID: "INVALID_WORKSPACE_ID", ErrUsageLimitExceeded: "USAGE_LIMIT_EXCEEDED",
		ErrOrgNotProvisioned: "ORG_NOT_PROVISIONED", ErrAlreadyConsumed: "ALREADY_CONSUMED",
		ErrInternal: "INTERNAL_ERROR", ErrCustom: "CUSTOM",
	}
	assert.Len(t, sentinels, len(ErrorCodes), "one sentinel per code")
	for s, code := range sentinels {
		assert.Equal(t, code, s.Code)
	}
}

func TestAuthErrors_DisplayMatchesTheSpecForEveryCode(t *testing.T) {
	for _, code := range ErrorCodes {
		want, ok := portAllCodes[code]
		require.Truef(t, ok, "code %s has no documented message", code)
		assert.Equalf(t, want, portErrorOf(code).Error(), "code %s", code)
	}
}

func TestAuthErrors_SentinelMessagesAreWellFormed(t *testing.T) {
	for _, s := range []*AuthError{ErrRequest, ErrAccessDenied, ErrInvalidGrant, ErrInvalidClient, ErrInvalidURL,
		ErrInvalidRegion, ErrInvalidCrn, ErrMissingWorkspaceCrn, ErrNotAuthenticated, ErrTokenExpired,
		ErrInvalidAccessKey, ErrInvalidToken, ErrServer, ErrStore, ErrWorkspaceMismatch, ErrInvalidWorkspaceID,
		ErrUsageLimitExceeded, ErrOrgNotProvisioned, ErrAlreadyConsumed, ErrInternal, ErrCustom} {
		assert.NotContainsf(t, s.Error(), "%!", "sentinel %s has a malformed message %q", s.Code, s.Error())
	}
}

func TestAuthErrors_RetryabilityIsPinnedForEveryErrorCode(t *testing.T) {
	retryable := map[string]bool{
		"REQUEST_ERROR": true, "SERVER_ERROR": true, "INTERNAL_ERROR": true, "CUSTOM": true, "STORE_ERROR": true,
		"ACCESS_DENIED": false, "INVALID_GRANT": false, "INVALID_CLIENT": false, "INVALID_URL": false,
		"INVALID_REGION": false, "INVALID_CRN": false, "MISSING_WORKSPACE_CRN": false, "NOT_AUTHENTICATED": false,
		"EXPIRED_TOKEN": false, "INVALID_ACCESS_KEY": false, "INVALID_TOKEN": false, "WORKSPACE_MISMATCH": false,
		"INVALID_WORKSPACE_ID": false, "USAGE_LIMIT_EXCEEDED": false, "ORG_NOT_PROVISIONED": false,
		"ALREADY_CONSUMED": false,
	}
	for _, code := range ErrorCodes {
		want, pinned := retryable[code]
		require.Truef(t, pinned, "code %s must state which side of the retry boundary it is on", code)
		assert.Equalf(t, want, portErrorOf(code).Retryable(), "code %s", code)
		if rebuilt := FromErrorCode(code, "message", nil); rebuilt.Code == code {
			assert.Equalf(t, want, rebuilt.Retryable(), "code %s rebuilt by FromErrorCode", code)
		}
	}
}

func TestAuthErrors_AccountRefusalIsPinnedForEveryErrorCode(t *testing.T) {
	for _, code := range ErrorCodes {
		want := code == "USAGE_LIMIT_EXCEEDED" || code == "ORG_NOT_PROVISIONED"
		assert.Equalf(t, want, portErrorOf(code).IsAccountRefusal(), "code %s", code)
		if rebuilt := FromErrorCode(code, "message", nil); rebuilt.Code == code {
			assert.Equalf(t, want, rebuilt.IsAccountRefusal(), "code %s rebuilt by FromErrorCode", code)
		}
	}
}

func TestAuthErrors_TheTwoAccountRefusalsAdviseDifferently(t *testing.T) {
	limit, missing := NewUsageLimitExceeded("over"), NewOrgNotProvisioned("absent")
	assert.Contains(t, strings.ToLower(limit.Help), "upgrade")
	assert.Contains(t, strings.ToLower(missing.Help), "support")
	assert.NotEqual(t, limit.Help, missing.Help)
}

func TestAuthErrors_TheTwoAccountRefusalsLinkToWhereToAct(t *testing.T) {
	assert.Equal(t, "https://dashboard.cipherstash.com/billing", NewUsageLimitExceeded("over").URL)
	assert.Equal(t, "https://cipherstash.com/support", NewOrgNotProvisioned("absent").URL)
}

func TestAuthErrors_BothAccountRefusalsAreNonRetryable(t *testing.T) {
	assert.False(t, NewUsageLimitExceeded("over").Retryable())
	assert.False(t, NewOrgNotProvisioned("absent").Retryable())
}

func TestAuthErrors_AnnotatedVariantsExposeDiagnosticHelp(t *testing.T) {
	cases := map[string]string{
		CodeInvalidRegion:       "supported region",
		CodeInvalidCrn:          "crn:<region>:<workspace-id>",
		CodeWorkspaceMismatch:   "different workspace",
		CodeMissingWorkspaceCrn: "CS_WORKSPACE_CRN",
		CodeNotAuthenticated:    "stash login",
		CodeInvalidAccessKey:    "CSAK<key-id>.<secret>",
	}
	for code, substr := range cases {
		assert.Containsf(t, portErrorOf(code).Help, substr, "code %s", code)
	}
	assert.Empty(t, portErrorOf(CodeExpiredToken).Help, "TokenExpired has no help")
	assert.Empty(t, portErrorOf(CodeInvalidToken).Help, "InvalidToken has no help")
}

// ---- FromErrorCode ----

func TestAuthErrors_FromErrorCodeMapsKnownCodesAndFallsBackToCustom(t *testing.T) {
	for _, code := range []string{CodeNotAuthenticated, CodeExpiredToken, CodeAccessDenied, CodeInvalidGrant,
		CodeInvalidClient, CodeMissingWorkspaceCrn, CodeAlreadyConsumed} {
		e := FromErrorCode(code, "ignored", nil)
		assert.Equalf(t, code, e.Code, "unit code %s is rebuilt typed", code)
		assert.Equal(t, portAllCodes[code], e.Error())
	}
	for _, code := range []string{CodeRequest, CodeInvalidURL, CodeInvalidRegion, CodeInvalidCrn, CodeInvalidAccessKey,
		CodeInvalidToken, CodeServer, CodeStore, CodeInvalidWorkspaceID, CodeInternal, CodeCustom, "NOT_A_CODE", ""} {
		e := FromErrorCode(code, "Server error: rendered on the far side", nil)
		assert.Equalf(t, CodeCustom, e.Code, "code %q", code)
		assert.Equal(t, "Server error: rendered on the far side", e.Error(), "the message is kept verbatim")
	}
}

func TestAuthErrors_UsageLimitRoundTripsThroughErrorCode(t *testing.T) {
	original := NewUsageLimitExceeded("over limit")
	envelope := portEnvelope(t, original)
	assert.Equal(t, "USAGE_LIMIT_EXCEEDED", envelope["type"])
	assert.NotEmpty(t, envelope["help"], "the remedy crosses the boundary with the error")

	rebuilt := FromErrorCode(envelope["type"].(string), envelope["message"].(string), nil)
	assert.Equal(t, CodeUsageLimitExceeded, rebuilt.Code)
	assert.Equal(t, original.Error(), rebuilt.Error())
	assert.Equal(t, original.Help, rebuilt.Help)
	assert.Equal(t, original.URL, rebuilt.URL)
}

func TestAuthErrors_NotProvisionedRoundTripsThroughErrorCode(t *testing.T) {
	e := FromErrorCode(CodeOrgNotProvisioned, "msg", nil)
	assert.Equal(t, CodeOrgNotProvisioned, e.Code)
	assert.Equal(t, "msg", e.Error())
}

func TestAuthErrors_FromErrorCodeBlankMessageFallsBackToDefault(t *testing.T) {
	assert.Equal(t, defaultUsageLimitMessage, FromErrorCode(CodeUsageLimitExceeded, "  ", nil).Error())
	assert.Equal(t, defaultNotProvisionedText, FromErrorCode(CodeOrgNotProvisioned, "", nil).Error())
}

func TestAuthErrors_WorkspaceMismatchIsRebuiltFromItsPayload(t *testing.T) {
	original := NewWorkspaceMismatch(testWS, otherWS)
	envelope := portEnvelope(t, original)

	rebuilt := FromErrorCode(envelope["type"].(string), envelope["message"].(string), envelope)
	assert.Equal(t, CodeWorkspaceMismatch, rebuilt.Code)
	assert.Equal(t, original.Error(), rebuilt.Error())
	assert.Equal(t, original.Payload, rebuilt.Payload)

	cases := map[string]map[string]any{
		"no payload":               nil,
		"missing actual":           {"expected": testWS},
		"non-string fields":        {"expected": 1, "actual": 2},
		"not workspace ids at all": {"expected": "not-a-workspace", "actual": "also not one"},
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			e := FromErrorCode(CodeWorkspaceMismatch, "Workspace mismatch: as rendered", payload)
			assert.Equal(t, CodeCustom, e.Code, "a payload that does not parse degrades to CUSTOM")
			assert.Equal(t, "Workspace mismatch: as rendered", e.Error())
		})
	}
}

// ---- JSON envelope ----

func portEnvelope(t *testing.T, e *AuthError) map[string]any {
	t.Helper()
	data, err := json.Marshal(e)
	require.NoError(t, err)
	return portDecodeJSON[map[string]any](t, data)
}

func TestAuthErrors_SerializeEmitsTypeMessageHelpAndPayload(t *testing.T) {
	e := NewWorkspaceMismatch(testWS, otherWS)
	assert.Equal(t, map[string]any{
		"expected": testWS,
		"actual":   otherWS,
		"type":     "WORKSPACE_MISMATCH",
		"message":  e.Error(),
		"help":     e.Help,
		// Ours: whether retrying may help (core's Retryable), for every language.
		"retryable": false,
	}, portEnvelope(t, e))
	assert.NotEmpty(t, e.Help)
}

func TestAuthErrors_SerializeVariantWithoutPayloadEmitsOnlyGenericFields(t *testing.T) {
	e := newError(CodeMissingWorkspaceCrn, "")
	assert.Equal(t, map[string]any{"type": "MISSING_WORKSPACE_CRN", "message": e.Error(), "help": e.Help, "retryable": false}, portEnvelope(t, e))

	assert.Equal(t, map[string]any{"type": "EXPIRED_TOKEN", "message": "Token expired", "retryable": false}, portEnvelope(t, newError(CodeExpiredToken, "")),
		"no help and no url when the variant has none")

	limit := NewUsageLimitExceeded("over")
	assert.Equal(t, map[string]any{"type": "USAGE_LIMIT_EXCEEDED", "message": "over", "help": limit.Help,
		"url": "https://dashboard.cipherstash.com/billing", "retryable": false}, portEnvelope(t, limit))
}

func TestAuthErrors_SerializeFixedKeysWinCollisions(t *testing.T) {
	e := NewServerError("boom")
	e.Payload = map[string]any{"type": "spoofed", "message": "spoofed", "retryable": false, "status": 500}
	env := portEnvelope(t, e)
	assert.Equal(t, true, env["retryable"])
	assert.Equal(t, "SERVER_ERROR", env["type"])
	assert.Equal(t, "Server error: boom", env["message"])
	assert.Equal(t, float64(500), env["status"])
}

// ---- errors.Is / As ----

func TestAuthErrors_ErrorsIsMatchesSentinelsByCode(t *testing.T) {
	sentinels := []*AuthError{ErrRequest, ErrAccessDenied, ErrInvalidGrant, ErrInvalidClient, ErrInvalidURL,
		ErrInvalidRegion, ErrInvalidCrn, ErrMissingWorkspaceCrn, ErrNotAuthenticated, ErrTokenExpired,
		ErrInvalidAccessKey, ErrInvalidToken, ErrServer, ErrStore, ErrWorkspaceMismatch, ErrInvalidWorkspaceID,
		ErrUsageLimitExceeded, ErrOrgNotProvisioned, ErrAlreadyConsumed, ErrInternal, ErrCustom}
	for _, code := range ErrorCodes {
		err := portErrorOf(code)
		wrapped := fmt.Errorf("context: %w", err)
		for _, s := range sentinels {
			assert.Equalf(t, s.Code == code, errors.Is(err, s), "%s vs sentinel %s", code, s.Code)
			assert.Equalf(t, s.Code == code, errors.Is(wrapped, s), "wrapped %s vs sentinel %s", code, s.Code)
		}
		assert.Same(t, err, AsAuthError(wrapped), "AsAuthError finds the wrapped error")
	}
	assert.False(t, errors.Is(errors.New("plain"), ErrCustom))
}

func TestAuthErrors_AsAuthErrorTurnsForeignErrorsIntoCustom(t *testing.T) {
	assert.Nil(t, AsAuthError(nil))
	cause := errors.New("disk on fire")
	ae := AsAuthError(cause)
	assert.Equal(t, CodeCustom, ae.Code)
	assert.Equal(t, "disk on fire", ae.Error())
	assert.ErrorIs(t, ae, cause)
}

func TestAuthErrors_WrappedCausesStayReachable(t *testing.T) {
	cause := fs.ErrPermission
	e := wrapError(CodeStore, cause, "permission denied")
	assert.ErrorIs(t, e, cause)
	assert.ErrorIs(t, e, ErrStore)
}

// ---- DeviceClientError mapping ----

func TestAuthErrors_DeviceClientErrorMapsToCanonicalAuthError(t *testing.T) {
	denied := newError(CodeAccessDenied, "")
	auth := &DeviceClientError{Kind: "auth", err: denied}
	assert.Same(t, denied, auth.AuthError(), "Auth unwraps to the inner error unchanged")
	assert.Equal(t, "Auth error: Authorization was denied", auth.Error())

	prof := &DeviceClientError{Kind: "profile", err: &profile.Error{Kind: profile.KindHomeDirNotFound}}
	assert.Equal(t, CodeStore, prof.AuthError().Code)
	assert.Equal(t, "Profile error: Could not determine home directory", prof.Error())
	assert.Contains(t, prof.AuthError().Error(), "Could not determine home directory")

	badURL := &DeviceClientError{Kind: "invalid_url", err: errors.New(`"not a url" is not an absolute URL`)}
	assert.Equal(t, CodeInvalidURL, badURL.AuthError().Code)
	assert.Equal(t, `Invalid ZeroKMS URL: "not a url" is not an absolute URL`, badURL.Error())

	req := &DeviceClientError{Kind: "request", err: errors.New("connection reset")}
	assert.Equal(t, CodeRequest, req.AuthError().Code)
	assert.Equal(t, "ZeroKMS request failed: connection reset", req.Error())

	server := &DeviceClientError{Kind: "server", Status: 500}
	ae := server.AuthError()
	assert.Equal(t, CodeServer, ae.Code)
	assert.Contains(t, ae.Error(), "ZeroKMS returned 500")
	assert.Equal(t, map[string]any{"status": 500}, ae.Payload)
	assert.Equal(t, "ZeroKMS returned 500", server.Error())

	// AsAuthError routes a DeviceClientError through the same mapping.
	assert.Equal(t, CodeServer, AsAuthError(fmt.Errorf("bind: %w", server)).Code)
}
