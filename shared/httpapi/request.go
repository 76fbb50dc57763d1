// Package httpapi is the API Gateway HTTP API (payload v2) plumbing shared by
// every function: a per-function router keyed by route key, access-token
// authentication, CORS, request ids, strict JSON decoding and RFC 9457
// problem responses. The dev server feeds it the same events API Gateway would.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
)

// Request is one API request as a handler sees it.
type Request struct {
	Event events.APIGatewayV2HTTPRequest
	ID    string // request id, also in every log line and problem
	// Principal is the caller: where from (IP, User-Agent) on every route,
	// and on an authenticated route who, from the verified token and the
	// caller's current membership. OrgID comes only from the verified token:
	// it scopes every data access.
	Principal caller.Caller
	Log       *slog.Logger
	logh      reqHandler // Log's handler, allocated with the request
	maxBody   int
}

// Param returns a path parameter ("userId" for /v1/users/{userId}).
func (r *Request) Param(name string) string { return r.Event.PathParameters[name] }

// Query returns a query string parameter.
func (r *Request) Query(name string) string { return r.Event.QueryStringParameters[name] }

// Header returns a request header, matched case-insensitively.
func (r *Request) Header(name string) string {
	if v, ok := r.Event.Headers[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range r.Event.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Cookie returns the value of the named cookie. Payload v2 moves cookies out
// of the headers into Event.Cookies.
func (r *Request) Cookie(name string) string {
	for _, c := range r.Event.Cookies {
		for _, part := range strings.Split(c, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && k == name {
				return v
			}
		}
	}
	return ""
}

// SourceIP is the caller's address as API Gateway saw it.
func (r *Request) SourceIP() string { return r.Event.RequestContext.HTTP.SourceIP }

// UserAgent is the caller's user agent.
func (r *Request) UserAgent() string { return r.Event.RequestContext.HTTP.UserAgent }

// Require answers 403 unless the caller's role holds permission p.
func (r *Request) Require(p access.Permission) error {
	if !access.Can(r.Principal.Role, p) {
		return fault.E(fault.Forbidden, "Your role (%s) does not allow this.", r.Principal.Role)
	}
	return nil
}

// Response is what a handler returns; the router renders it. Returned
// together with an error, only its Cookies are kept, on the problem response.
type Response struct {
	Status  int
	Body    any // marshalled as JSON unless nil
	Headers map[string]string
	Cookies []string // Set-Cookie values
}

// JSON answers status with body as JSON.
func JSON(status int, body any) *Response { return &Response{Status: status, Body: body} }

// DecodeAnd checks perm, decodes the body into In and answers status with
// what do returns: the shape of every write handler.
func DecodeAnd[In any](r *Request, perm access.Permission, do func(In) (any, error), status int) (*Response, error) {
	if err := r.Require(perm); err != nil {
		return nil, err
	}
	var in In
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	out, err := do(in)
	if err != nil {
		return nil, err
	}
	return JSON(status, out), nil
}

// Raw is a response body sent as is, with its own Content-Type.
type Raw string

// Text answers status with body as is, e.g. a CSV export.
func Text(status int, contentType string, body string) *Response {
	return &Response{Status: status, Body: Raw(body), Headers: map[string]string{"Content-Type": contentType}}
}

// NoContent answers 204.
func NoContent() *Response { return &Response{Status: http.StatusNoContent} }

// Page is the list envelope of API.md.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

type principalKey struct{}

// WithPrincipal stores p in ctx.
func WithPrincipal(ctx context.Context, p caller.Caller) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the verified caller stored in ctx.
func PrincipalFrom(ctx context.Context) (caller.Caller, bool) {
	if p, ok := ctx.Value(principalKey{}).(caller.Caller); ok {
		return p, true
	}
	if a, ok := ctx.Value(authKey{}).(*authenticated); ok {
		return a.p, true
	}
	return caller.Caller{}, false
}

// marshalBody encodes a response body. URLs (presigned uploads and
// downloads) keep their & unescaped: the body is served as JSON with
// nosniff, never as HTML, so the \u0026 escapes would only get in the way of
// clients and scripts.
func marshalBody(v any) (string, error) {
	b := bodyBuffers.Get().(*bytes.Buffer)
	defer func() {
		if b.Cap() <= maxPooledBody {
			b.Reset()
			bodyBuffers.Put(b)
		}
	}()
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), nil
}

// bodyBuffers are reused across responses: a body is encoded into one,
// then copied once into the response's string, instead of growing a new
// buffer by doubling for every response.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody keeps a rare huge body's buffer from staying pooled.
const maxPooledBody = 256 << 10

// SecureHeaders adds the headers every answer carries, API or function
// URL: nothing is cached (answers hold client data and are per caller),
// nothing is sniffed, framed or referred, and a browser that reached us
// over HTTPS never tries plain HTTP. The answers are JSON, CSV or audio,
// never pages, so the content security policy allows nothing; a handler
// that serves a page sets its own policy, which is kept.
func SecureHeaders(h map[string]string) {
	h["Cache-Control"] = "no-store"
	h["X-Content-Type-Options"] = "nosniff"
	h["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
	h["X-Frame-Options"] = "DENY"
	h["Referrer-Policy"] = "no-referrer"
	if h["Content-Security-Policy"] == "" {
		h["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
	}
}
