// Package cts is the HTTP side of the CTS wire client (docs/protocol.md 2): the shared HTTP
// clients (proxies and CA roots from the strategy's environment), POST with an ordered form
// or JSON body, and base-URL joins. What an answer means (tokens, error codes) is core's.
package cts

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxResponseBytes bounds what we read from a server; tokens are a few KiB.
const maxResponseBytes = 1 << 20

// EnsureTrailingSlash makes relative joins keep the base path.
func EnsureTrailingSlash(u *url.URL) *url.URL {
	c := *u
	if !strings.HasSuffix(c.Path, "/") {
		c.Path += "/"
		if c.RawPath != "" {
			c.RawPath += "/"
		}
	}
	return &c
}

// JoinRelative resolves path against base as a relative reference, so a base of
// http://host/api/v1/ gives http://host/api/v1/<path>.
func JoinRelative(base *url.URL, path string) string {
	return EnsureTrailingSlash(base).ResolveReference(&url.URL{Path: path}).String()
}

// Form is an ordered x-www-form-urlencoded body: upstream's field order is part of the
// wire contract (url.Values would sort it).
type Form [][2]string

func (f Form) Encode() []byte {
	var b bytes.Buffer
	for i, kv := range f {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[0]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[1]))
	}
	return b.Bytes()
}

// BadRequestError is a request that could not be built (its URL).
type BadRequestError struct{ Err error }

func (e *BadRequestError) Error() string { return e.Err.Error() }
func (e *BadRequestError) Unwrap() error { return e.Err }

// NoResponseError is a request that got no complete answer: Err from the client, or from
// reading the body (Reading).
type NoResponseError struct {
	Err     error
	Reading bool
}

func (e *NoResponseError) Error() string { return e.Err.Error() }
func (e *NoResponseError) Unwrap() error { return e.Err }

// Post sends one request and returns the server's answer, whatever its status. Only a
// failure to get any answer is an error (*BadRequestError, *NoResponseError). The request
// body is zeroed afterwards: it carries credentials.
func Post(ctx context.Context, client *http.Client, endpoint, contentType, userAgent string, body []byte, header http.Header) (status int, answer []byte, err error) {
	defer clear(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, nil, &BadRequestError{err}
	}
	req.Header.Set("content-type", contentType)
	req.Header.Set("user-agent", userAgent)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, &NoResponseError{Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return 0, nil, &NoResponseError{Err: err, Reading: true}
	}
	return resp.StatusCode, data, nil
}
