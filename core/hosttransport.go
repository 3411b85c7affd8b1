package stackauth

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
)

// HTTPRequest is one request handed to a host transport (upstream 0.43's HttpRequest): the
// method in upper case, the absolute URL, the headers in order with lower-case names, and
// the body. It carries credentials: String shows only the method, URL, header names and
// body length, and the library zeroes the body once the transport has returned.
type HTTPRequest struct {
	Method  string
	URL     string
	Headers [][2]string
	Body    []byte
}

func (r *HTTPRequest) String() string {
	return fmt.Sprintf("HTTPRequest{%s %s, headers: %s, body: %d bytes}", r.Method, redactURL(r.URL), headerNames(r.Headers), len(r.Body))
}
func (r *HTTPRequest) GoString() string { return r.String() }

// HTTPResponse is a host transport's answer (upstream 0.43's HttpResponse): the status, the
// headers and the whole body. String shows only the status, header names and body length.
type HTTPResponse struct {
	Status  int
	Headers [][2]string
	Body    []byte
}

func (r *HTTPResponse) String() string {
	return fmt.Sprintf("HTTPResponse{%d, headers: %s, body: %d bytes}", r.Status, headerNames(r.Headers), len(r.Body))
}
func (r *HTTPResponse) GoString() string { return r.String() }

func headerNames(h [][2]string) string {
	names := make([]string, len(h))
	for i, kv := range h {
		names[i] = kv[0]
	}
	return "[" + strings.Join(names, " ") + "]"
}

// HTTPTransport carries the library's HTTP requests with the host's own client (a proxy,
// custom TLS, tracing): upstream 0.43's HttpTransport. Send returns the server's answer
// whatever its status; an error means no answer (it becomes REQUEST_ERROR). One transport
// may serve several strategies at once.
type HTTPTransport interface {
	Send(ctx context.Context, req *HTTPRequest) (*HTTPResponse, error)
}

// HTTPTransportFunc is an HTTPTransport of one function.
type HTTPTransportFunc func(ctx context.Context, req *HTTPRequest) (*HTTPResponse, error)

func (f HTTPTransportFunc) Send(ctx context.Context, req *HTTPRequest) (*HTTPResponse, error) {
	return f(ctx, req)
}

// TransportRoundTripper adapts t to an http.RoundTripper, which is how the library's HTTP
// client uses it: every request (token exchanges, refreshes, the device flow, ZeroKMS
// binding) goes through t with its user-agent already set; a host may replace that header
// with one naming itself, but never leave it out (the production edge refuses a request
// without one).
func TransportRoundTripper(t HTTPTransport) http.RoundTripper { return roundTripper{t} }

type roundTripper struct{ t HTTPTransport }

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	defer clear(body)
	names := make([]string, 0, len(req.Header))
	for k := range req.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	headers := make([][2]string, 0, len(names)+1)
	for _, k := range names {
		for _, v := range req.Header[k] {
			headers = append(headers, [2]string{strings.ToLower(k), v})
		}
	}
	if req.Header.Get("user-agent") == "" {
		headers = append(headers, [2]string{"user-agent", UserAgent})
	}
	hr := &HTTPRequest{Method: strings.ToUpper(req.Method), URL: req.URL.String(), Headers: headers, Body: body}
	resp, err := rt.t.Send(req.Context(), hr)
	for i := range headers {
		headers[i][1] = "" // header values carry credentials too
	}
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, fmt.Errorf("the host transport returned no response")
	}
	h := http.Header{}
	for _, kv := range resp.Headers {
		h.Add(kv[0], kv[1])
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", resp.Status, http.StatusText(resp.Status)),
		StatusCode:    resp.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(resp.Body)),
		ContentLength: int64(len(resp.Body)),
		Request:       req,
	}, nil
}

// WithTransport sends every request of the strategy through the host's transport t
// (upstream 0.43's `.transport(t)`); it beats WithHTTPClient and the proxy and TLS
// environment, which are then the host's business. Requests still time out after 30 s.
func WithTransport(t HTTPTransport) Option {
	return func(o *options) {
		if t != nil {
			o.httpClient = &http.Client{Timeout: 30 * time.Second, Transport: TransportRoundTripper(t)}
		}
	}
}
