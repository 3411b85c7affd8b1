package stackauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// errorKind describes one code: how its message is formed, its help text and URL. The
// table (errorKinds, in errors_table.go) is generated from build/gen/tables.json.
type errorKind struct {
	format    string // "%s" receives the detail; a format without a verb is fixed
	help      string
	url       string
	retryable bool
}

// AuthError is the one error type of this library. Code is one of ErrorCodes; Message is
// the human text (upstream's Display); Help and URL say what to do; Payload carries
// structured detail (WORKSPACE_MISMATCH: expected, actual; device binding: status).
// Messages never contain secrets.
type AuthError struct {
	Code    string
	Message string
	Help    string
	URL     string
	Payload map[string]any
	// Detail is the variant's inner text (the %s of the message), kept for re-encoding.
	Detail string
	cause  error
	// refused: the server refused the credential itself; the same credential fails again.
	refused bool
}

func (e *AuthError) Error() string { return e.Message }
func (e *AuthError) Unwrap() error { return e.cause }

// Is matches any *AuthError with the same code, so errors.Is(err, ErrNotAuthenticated)
// works for errors created anywhere.
func (e *AuthError) Is(target error) bool {
	t, ok := target.(*AuthError)
	return ok && t.Code == e.Code
}

// Retryable reports whether trying again may succeed: transport and server faults, store
// errors, internal and custom errors, and a call that timed out (the refresh goes on).
// Settled answers (refusals, bad input, a freed handle, a forked process) are not. A code of
// a host's own (a callback's exception) counts as CUSTOM.
func (e *AuthError) Retryable() bool {
	if e.refused {
		return false
	}
	if k, ok := errorKinds[e.Code]; ok {
		return k.retryable
	}
	if r, ok := callCodeRetryable[e.Code]; ok {
		return r
	}
	return errorKinds[CodeCustom].retryable
}

// IsAccountRefusal reports an organisation-level refusal that is remembered for 60 s.
func (e *AuthError) IsAccountRefusal() bool {
	return e.Code == CodeUsageLimitExceeded || e.Code == CodeOrgNotProvisioned
}

// MarshalJSON writes the FFI envelope of docs/errors.md: payload keys first, then type,
// message, help, url and retryable (fixed keys win collisions).
func (e *AuthError) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	field := func(k string, v any) error {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		kj, _ := marshalPlain(k)
		vj, err := marshalPlain(v)
		if err != nil {
			return err
		}
		b.Write(kj)
		b.WriteByte(':')
		b.Write(vj)
		return nil
	}
	fixed := map[string]bool{"type": true, "message": true, "help": true, "url": true, "retryable": true}
	for _, k := range slices.Sorted(maps.Keys(e.Payload)) {
		if !fixed[k] {
			if err := field(k, e.Payload[k]); err != nil {
				return nil, err
			}
		}
	}
	_ = field("type", e.Code)
	_ = field("message", e.Message)
	if e.Help != "" {
		_ = field("help", e.Help)
	}
	if e.URL != "" {
		_ = field("url", e.URL)
	}
	_ = field("retryable", e.Retryable())
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshalPlain is json.Marshal without HTML escaping: help texts contain `<` and `>`,
// and the JSON goes to programs, not to web pages.
func marshalPlain(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// newError builds an AuthError for code with the variant detail (ignored by fixed messages).
func newError(code, detail string) *AuthError {
	k, ok := errorKinds[code]
	if !ok {
		return &AuthError{Code: CodeCustom, Message: detail, Detail: detail}
	}
	msg := k.format
	if strings.Contains(k.format, "%") {
		msg = fmt.Sprintf(k.format, detail)
	}
	return &AuthError{Code: code, Message: msg, Help: k.help, URL: k.url, Detail: detail}
}

func wrapError(code string, cause error, detail string) *AuthError {
	e := newError(code, detail)
	e.cause = cause
	return e
}

// Sentinels for errors.Is; compare by code.
var (
	ErrRequest             = newError(CodeRequest, "")
	ErrAccessDenied        = newError(CodeAccessDenied, "")
	ErrInvalidGrant        = newError(CodeInvalidGrant, "")
	ErrInvalidClient       = newError(CodeInvalidClient, "")
	ErrInvalidURL          = newError(CodeInvalidURL, "")
	ErrInvalidRegion       = newError(CodeInvalidRegion, "")
	ErrInvalidCrn          = newError(CodeInvalidCrn, "")
	ErrMissingWorkspaceCrn = newError(CodeMissingWorkspaceCrn, "")
	ErrNotAuthenticated    = newError(CodeNotAuthenticated, "")
	ErrTokenExpired        = newError(CodeExpiredToken, "")
	ErrInvalidAccessKey    = newError(CodeInvalidAccessKey, "")
	ErrInvalidToken        = newError(CodeInvalidToken, "")
	ErrServer              = newError(CodeServer, "")
	ErrStore               = newError(CodeStore, "")
	ErrWorkspaceMismatch   = &AuthError{Code: CodeWorkspaceMismatch, Message: "Workspace mismatch", Help: errorKinds[CodeWorkspaceMismatch].help}
	ErrInvalidWorkspaceID  = newError(CodeInvalidWorkspaceID, "")
	ErrUsageLimitExceeded  = newError(CodeUsageLimitExceeded, "")
	ErrOrgNotProvisioned   = newError(CodeOrgNotProvisioned, "")
	ErrAlreadyConsumed     = newError(CodeAlreadyConsumed, "")
	ErrInternal            = newError(CodeInternal, "")
	ErrCustom              = newError(CodeCustom, "")
)

// Constructors for the variants that carry detail.

func NewRequestError(detail string) *AuthError      { return newError(CodeRequest, detail) }
func NewServerError(detail string) *AuthError       { return newError(CodeServer, detail) }
func NewStoreError(detail string) *AuthError        { return newError(CodeStore, detail) }
func NewInvalidTokenError(detail string) *AuthError { return newError(CodeInvalidToken, detail) }
func NewInternalError(detail string) *AuthError     { return newError(CodeInternal, detail) }

// NewCustomError is for user strategies; the message is kept verbatim.
func NewCustomError(message string) *AuthError { return newError(CodeCustom, message) }

// NewUsageLimitExceeded uses the default message when message is blank.
func NewUsageLimitExceeded(message string) *AuthError {
	if strings.TrimSpace(message) == "" {
		message = defaultUsageLimitMessage
	}
	return newError(CodeUsageLimitExceeded, message)
}

// NewOrgNotProvisioned uses the default message when message is blank.
func NewOrgNotProvisioned(message string) *AuthError {
	if strings.TrimSpace(message) == "" {
		message = defaultNotProvisionedText
	}
	return newError(CodeOrgNotProvisioned, message)
}

// NewWorkspaceMismatch reports a token for workspace actual where expected was configured.
func NewWorkspaceMismatch(expected, actual string) *AuthError {
	k := errorKinds[CodeWorkspaceMismatch]
	return &AuthError{
		Code:    CodeWorkspaceMismatch,
		Message: fmt.Sprintf(k.format, expected, actual),
		Help:    k.help,
		Payload: map[string]any{"expected": expected, "actual": actual},
	}
}

// FromErrorCode rebuilds an error from its code, message and payload (docs/errors.md): unit
// codes become their typed error, account refusals keep their message, WORKSPACE_MISMATCH
// needs its payload, and anything else is a CUSTOM error with the message verbatim.
func FromErrorCode(code, message string, payload map[string]any) *AuthError {
	switch code {
	case CodeNotAuthenticated, CodeExpiredToken, CodeAccessDenied, CodeInvalidGrant,
		CodeInvalidClient, CodeMissingWorkspaceCrn, CodeAlreadyConsumed:
		return newError(code, "")
	case CodeUsageLimitExceeded:
		return NewUsageLimitExceeded(message)
	case CodeOrgNotProvisioned:
		return NewOrgNotProvisioned(message)
	case CodeWorkspaceMismatch:
		exp, ok1 := payload["expected"].(string)
		act, ok2 := payload["actual"].(string)
		if ok1 && ok2 && ValidWorkspaceID(exp) && ValidWorkspaceID(act) {
			return NewWorkspaceMismatch(exp, act)
		}
	}
	return NewCustomError(message)
}

// AsAuthError converts any error into an *AuthError: AuthErrors (wrapped or not) are
// returned as they are; anything else becomes CUSTOM with its message.
func AsAuthError(err error) *AuthError {
	if err == nil {
		return nil
	}
	var ae *AuthError
	if errors.As(err, &ae) {
		return ae
	}
	var dce *DeviceClientError
	if errors.As(err, &dce) {
		return dce.AuthError()
	}
	e := NewCustomError(err.Error())
	e.cause = err
	return e
}

// classifyIssuanceFailure is upstream's 402 classifier (docs/protocol.md 2.9): a typed account
// refusal, or nil to let the caller fall back to its generic handling. The description is
// server text: it is redacted of the secrets sent.
func classifyIssuanceFailure(status int, body []byte, sent ...SecretToken) *AuthError {
	if status != 402 {
		return nil
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return NewUsageLimitExceeded("")
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil || obj == nil {
		return nil
	}
	code := CodeUsageLimitExceeded
	if raw, ok := obj["cs_code"]; ok {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		switch strings.TrimSpace(s) {
		case CodeUsageLimitExceeded:
		case CodeOrgNotProvisioned:
			code = CodeOrgNotProvisioned
		default:
			return nil
		}
	}
	var desc string
	if raw, ok := obj["error_description"]; ok {
		_ = json.Unmarshal(raw, &desc) // a non-string description falls back to the default
	}
	desc = serverText([]byte(desc), sent...)
	if code == CodeOrgNotProvisioned {
		return NewOrgNotProvisioned(desc)
	}
	return NewUsageLimitExceeded(desc)
}

// DeviceClientError is the error of BindClientDevice (docs/errors.md). It maps onto AuthError
// with AuthError(); its message never contains the server's response body.
type DeviceClientError struct {
	Kind   string // "profile", "auth", "request", "server", "invalid_url"
	Status int    // for "server"; the response body is deliberately not kept
	err    error
}

func (e *DeviceClientError) Error() string {
	switch e.Kind {
	case "profile":
		return "Profile error: " + e.detail()
	case "auth":
		return "Auth error: " + e.err.Error()
	case "request":
		return "ZeroKMS request failed: " + e.detail()
	case "server":
		return fmt.Sprintf("ZeroKMS returned %d", e.Status)
	default:
		return "Invalid ZeroKMS URL: " + e.detail()
	}
}

// detail is the cause's own text, without the prefix of an AuthError it may already be.
func (e *DeviceClientError) detail() string {
	var ae *AuthError
	if errors.As(e.err, &ae) && ae.Detail != "" {
		return ae.Detail
	}
	return e.err.Error()
}

func (e *DeviceClientError) Unwrap() error { return e.err }

// AuthError maps the device client error onto the canonical error (docs/errors.md).
func (e *DeviceClientError) AuthError() *AuthError {
	var ae *AuthError
	switch e.Kind {
	case "auth":
		return AsAuthError(e.err)
	case "server":
		ae := NewServerError(fmt.Sprintf("ZeroKMS returned %d", e.Status))
		ae.Payload = map[string]any{"status": e.Status}
		return ae
	}
	code := map[string]string{"profile": CodeStore, "request": CodeRequest}[e.Kind]
	if code == "" {
		code = CodeInvalidURL
	}
	if errors.As(e.err, &ae) && ae.Code == code {
		return ae
	}
	return wrapError(code, e.err, e.detail())
}
