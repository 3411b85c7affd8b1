package stackauth

// The CTS wire client (docs/protocol.md 2): every call is a POST; credentials travel in the
// body; non-2xx answers go to a classifier; only "no response at all" is REQUEST_ERROR.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strconv"

	"github.com/stackauth/stack-auth/core/internal/cts"
)

// Version is this library's version, sent in the user-agent. A variable so that builds stamp
// the header's version into it with -X (build/lib.sh, make cli); build/version.sh keeps this
// default equal to it.
var Version = "0.1.0"

// UserAgent is sent on every request: stack-auth/<version> (<os> <arch>), with Rust's
// spelling of OS and architecture names as upstream sends them.
var UserAgent = fmt.Sprintf("stack-auth/%s (%s %s)", Version, rustOS(runtime.GOOS), rustArch(runtime.GOARCH))

func rustOS(goos string) string {
	if goos == "darwin" {
		return "macos"
	}
	return goos
}

func rustArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "386":
		return "x86"
	}
	return goarch
}

// resolveBaseURL applies the precedence override > CS_CTS_HOST > fallback.
func resolveBaseURL(override string, getenv func(string) string, fallback func() (*url.URL, error)) (*url.URL, error) {
	if override != "" {
		u, err := parseAbsoluteURL(override)
		if err != nil {
			return nil, newError(CodeInvalidURL, err.Error())
		}
		return cts.EnsureTrailingSlash(u), nil
	}
	if env := getenv("CS_CTS_HOST"); env != "" {
		u, err := parseAbsoluteURL(env)
		if err != nil {
			return nil, newError(CodeInvalidURL, "CS_CTS_HOST: "+err.Error())
		}
		return cts.EnsureTrailingSlash(u), nil
	}
	u, err := fallback()
	if err != nil {
		return nil, err
	}
	return cts.EnsureTrailingSlash(u), nil
}

// regionCTS parses region and resolves the token service's URL for it: WithBaseURL >
// CS_CTS_HOST > the region's discovery URL.
func regionCTS(region string, o *options) (Region, *url.URL, error) {
	r, err := ParseRegion(region)
	if err != nil {
		return Region{}, nil, err
	}
	base, err := resolveBaseURL(o.baseURL, o.getenv, discoveryURL(r))
	return r, base, err
}

func discoveryURL(r Region) func() (*url.URL, error) {
	return func() (*url.URL, error) { return url.Parse(r.CTSEndpoint()) }
}

type ctsClient struct {
	base  *url.URL
	http  *http.Client
	clock Clock
	log   *slog.Logger
}

// response is a server's answer, whatever its status.
type response struct {
	status int
	body   []byte
}

func (r response) ok() bool { return r.status >= 200 && r.status < 300 }

// post sends one request through core/internal/cts. Only a failure to get any response is
// an error (REQUEST_ERROR). The request body is zeroed afterwards: it carries credentials.
func (c *ctsClient) post(ctx context.Context, endpoint, contentType string, body []byte, header http.Header) (response, error) {
	status, data, err := cts.Post(ctx, c.http, endpoint, contentType, UserAgent, body, header)
	if err != nil {
		var noResponse *cts.NoResponseError
		switch {
		case !errors.As(err, &noResponse):
			return response{}, newError(CodeInvalidURL, err.Error())
		case noResponse.Reading:
			return response{}, wrapError(CodeRequest, noResponse.Err, "error reading response body: "+transportErrorText(noResponse.Err))
		}
		return response{}, wrapError(CodeRequest, noResponse.Err, transportErrorText(noResponse.Err))
	}
	c.log.Debug("cts response", "url", redactURL(endpoint), "status", status, "body_len", len(data))
	return response{status: status, body: data}, nil
}

// transportErrorText describes a transport failure without echoing request content. Go's
// text may quote what a server sent ("malformed HTTP response …"), so it is server text.
func transportErrorText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() || errors.Is(ue.Err, context.DeadlineExceeded) {
			// Not "context deadline exceeded": say what timed out.
			return ue.Op + " " + redactURL(ue.URL) + ": timed out waiting for the server's answer"
		}
		if errors.Is(ue.Err, context.Canceled) {
			return ue.Op + " " + redactURL(ue.URL) + ": cancelled by the caller before the server answered"
		}
		return ue.Op + " " + redactURL(ue.URL) + ": " + serverText([]byte(ue.Err.Error()))
	}
	return serverText([]byte(err.Error()))
}

// redactURL drops user info and query, which could carry credentials.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<invalid url>"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

func (c *ctsClient) postJSON(ctx context.Context, path string, v any) (response, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return response{}, NewInternalError("encoding request: " + err.Error())
	}
	return c.post(ctx, cts.JoinRelative(c.base, path), "application/json", body, nil)
}

func (c *ctsClient) postForm(ctx context.Context, path string, f cts.Form) (response, error) {
	return c.post(ctx, cts.JoinRelative(c.base, path), "application/x-www-form-urlencoded", f.Encode(), nil)
}

func decodeSuccess(r response, v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return NewRequestError("error decoding response body: " + jsonErrorSummary(err))
	}
	return nil
}

func (c *ctsClient) now() uint64 { return uint64(c.clock.Now().Unix()) }

type authoriseResponse struct {
	AccessToken *SecretToken `json:"accessToken"`
	Expiry      *uint64      `json:"expiry"`
}

// authorise performs POST api/authorise (access key or OIDC body, carrying the secrets
// sent). expiry is an absolute Unix time and is used as it is (the CIP-3233 fix).
func (c *ctsClient) authorise(ctx context.Context, body any, sent ...SecretToken) (*Token, error) {
	r, err := c.postJSON(ctx, "api/authorise", body)
	if err != nil {
		return nil, err
	}
	if !r.ok() {
		if ae := classifyIssuanceFailure(r.status, r.body, sent...); ae != nil {
			return nil, ae
		}
		if r.status == http.StatusUnauthorized || r.status == http.StatusForbidden {
			return nil, refusedCredential(r, body, sent...)
		}
		return nil, NewServerError(strconv.Itoa(r.status) + ": " + serverText(r.body, sent...))
	}
	var resp authoriseResponse
	if err := decodeSuccess(r, &resp); err != nil {
		return nil, err
	}
	if resp.AccessToken == nil || resp.Expiry == nil {
		return nil, NewRequestError("error decoding response body: missing accessToken or expiry")
	}
	return &Token{AccessToken: *resp.AccessToken, TokenType: "Bearer", ExpiresAt: *resp.Expiry}, nil
}

// refusedCredential is a 401/403 of api/authorise: the credential itself was refused. Still
// upstream's SERVER_ERROR, but saying which credential, in one line (the server's own
// description, not its JSON), with what to check, and not retryable.
func refusedCredential(r response, body any, sent ...SecretToken) *AuthError {
	what, help := "the OIDC token", "Check that the OIDC provider returns a current JWT from an issuer the workspace trusts (its OIDC settings in the CipherStash dashboard)."
	if _, ok := body.(accessKeyBody); ok {
		what, help = "the access key", "Check `CS_CLIENT_ACCESS_KEY` (or the key passed in): the whole `CSAK<key-id>.<secret>`, not revoked, and created for this workspace."
	}
	reason := serverText(r.body, sent...)
	if e, ok := parseOAuthError(r.body); ok {
		reason = *e.Error
		if e.Description != "" {
			reason = serverText([]byte(e.Description), sent...)
		}
	}
	ae := NewServerError(fmt.Sprintf("the token service refused %s (HTTP %d): %s", what, r.status, reason))
	ae.Help = help
	ae.refused = true
	return ae
}

type accessKeyBody struct {
	AccessKey SecretToken `json:"accessKey"`
	Audience  string      `json:"audience,omitempty"`
}

type oidcBody struct {
	OidcToken   SecretToken `json:"oidcToken"`
	WorkspaceID string      `json:"workspaceId"`
}

// oauthError is the RFC 6749 error body.
type oauthError struct {
	Error       *string `json:"error"`
	Description string  `json:"error_description"`
}

func parseOAuthError(body []byte) (oauthError, bool) {
	var e oauthError
	if json.Unmarshal(body, &e) != nil || e.Error == nil {
		return e, false
	}
	return e, true
}

// mapOAuthError maps the error codes shared by polling and refresh; any other code is a
// SERVER_ERROR with the description, redacted of the secrets sent.
func mapOAuthError(e oauthError, sent ...SecretToken) *AuthError {
	switch *e.Error {
	case "access_denied":
		return newError(CodeAccessDenied, "")
	case "invalid_grant":
		return newError(CodeInvalidGrant, "")
	case "invalid_client":
		return newError(CodeInvalidClient, "")
	}
	return NewServerError(serverText([]byte(e.Description), sent...))
}

type oauthTokenResponse struct {
	AccessToken  *SecretToken `json:"access_token"`
	TokenType    *string      `json:"token_type"`
	ExpiresIn    *uint64      `json:"expires_in"`
	RefreshToken SecretToken  `json:"refresh_token"`
}

// token converts an OAuth token response; expires_in is relative here.
func (r oauthTokenResponse) token(now uint64) (*Token, error) {
	if r.AccessToken == nil || r.TokenType == nil || r.ExpiresIn == nil {
		return nil, NewRequestError("error decoding response body: missing access_token, token_type or expires_in")
	}
	return &Token{
		AccessToken:  *r.AccessToken,
		RefreshToken: r.RefreshToken,
		TokenType:    *r.TokenType,
		ExpiresAt:    saturatingAdd(now, *r.ExpiresIn),
	}, nil
}

// refresh performs the OAuth refresh grant (docs/protocol.md 2.7).
func (c *ctsClient) refresh(ctx context.Context, refreshToken SecretToken, clientID, deviceInstanceID string) (*Token, error) {
	f := cts.Form{{"grant_type", "refresh_token"}, {"client_id", clientID}, {"refresh_token", refreshToken.Reveal()}}
	if deviceInstanceID != "" {
		f = append(f, [2]string{"device_instance_id", deviceInstanceID})
	}
	r, err := c.postForm(ctx, "oauth/token", f)
	if err != nil {
		return nil, err
	}
	if !r.ok() {
		return nil, oauthFailure(r, refreshToken)
	}
	var resp oauthTokenResponse
	if err := decodeSuccess(r, &resp); err != nil {
		return nil, err
	}
	return resp.token(c.now())
}

// oauthFailure classifies a non-2xx answer of the token endpoints: 402 first, then the
// OAuth error body.
func oauthFailure(r response, sent ...SecretToken) *AuthError {
	if ae := classifyIssuanceFailure(r.status, r.body, sent...); ae != nil {
		return ae
	}
	e, ok := parseOAuthError(r.body)
	if !ok {
		return unparseableFailure(r, sent...)
	}
	return mapOAuthError(e, sent...)
}

// unparseableFailure is upstream's "<status>: unparseable error body: …", with the body as
// serverText renders it.
func unparseableFailure(r response, sent ...SecretToken) *AuthError {
	return NewServerError(fmt.Sprintf("%d: unparseable error body: %s", r.status, serverText(r.body, sent...)))
}
