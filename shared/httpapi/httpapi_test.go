package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/routes"
)

type sample struct {
	Name  string         `json:"name"`
	Count int            `json:"count"`
	Tags  []string       `json:"tags"`
	Items []sampleItem   `json:"items"`
	Meta  map[string]int `json:"meta"`
	Base
}

type sampleItem struct {
	Kind string `json:"kind"`
}

// Base is embedded: its fields are promoted into sample's JSON object.
type Base struct {
	Ref string `json:"ref"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, body, contentType string
		base64                  bool
		wantKind                fault.Kind
		wantField               string
	}{
		{name: "ok", body: `{"name":"a","count":2}`, contentType: "application/json"},
		{name: "ok without content type", body: `{"name":"a"}`},
		{name: "base64 ok", body: base64.StdEncoding.EncodeToString([]byte(`{"name":"a"}`)), base64: true},
		{name: "malformed", body: `{"name":`, wantKind: fault.Malformed},
		{name: "not json", body: `hello`, wantKind: fault.Malformed},
		{name: "invalid utf-8", body: "{\"name\":\"a\xff\"}", wantKind: fault.Malformed},
		{name: "invalid utf-8 base64", body: base64.StdEncoding.EncodeToString([]byte("{\"name\":\"\xc3\"}")), base64: true, wantKind: fault.Malformed},
		{name: "lone high surrogate", body: `{"name":"a\ud800"}`, wantKind: fault.Malformed},
		{name: "lone low surrogate", body: `{"name":"a\udc00b"}`, wantKind: fault.Malformed},
		{name: "high surrogate then other escape", body: `{"name":"a\ud800\u0041"}`, wantKind: fault.Malformed},
		{name: "surrogate pair ok", body: `{"name":"a","ref":"\ud83d\ude00"}`},
		{name: "escaped backslash then u ok", body: `{"name":"a","ref":"\\ud800"}`},
		{name: "surrogate-like text in key ok", body: `{"name":"a","tags":["\u00e9","d800"]}`},
		{name: "array", body: `[1,2]`, wantKind: fault.Malformed},
		{name: "trailing data", body: `{"name":"a"}{"name":"b"}`, wantKind: fault.Malformed},
		{name: "wrong type", body: `{"count":"two"}`, wantKind: fault.Invalid, wantField: "count"},
		{name: "wrong nested type", body: `{"tags":[1]}`, wantKind: fault.Invalid, wantField: "tags"},
		{name: "unknown field", body: `{"nmae":"a"}`, wantKind: fault.Invalid, wantField: "nmae"},
		{name: "duplicate key", body: `{"name":"a","name":"b"}`, wantKind: fault.Invalid, wantField: "name"},
		{name: "key in other case", body: `{"NAME":"a"}`, wantKind: fault.Invalid, wantField: "NAME"},
		{name: "nested ok", body: `{"name":"a","items":[{"kind":"x"}],"meta":{"k":1},"ref":"r"}`},
		{name: "nested duplicate", body: `{"name":"a","items":[{"kind":"x"},{"kind":"x","kind":"y"}]}`, wantKind: fault.Invalid, wantField: "items[1].kind"},
		{name: "nested other case", body: `{"name":"a","items":[{"KIND":"x"}]}`, wantKind: fault.Invalid, wantField: "items[0].KIND"},
		{name: "duplicate map key", body: `{"name":"a","meta":{"k":1,"k":2}}`, wantKind: fault.Invalid, wantField: "meta.k"},
		{name: "promoted field other case", body: `{"name":"a","REF":"r"}`, wantKind: fault.Invalid, wantField: "REF"},
		{name: "too large", body: `{"name":"` + strings.Repeat("x", DefaultMaxBody) + `"}`, wantKind: fault.TooLarge},
		{name: "form body", body: `name=a`, contentType: "application/x-www-form-urlencoded", wantKind: fault.Malformed},
		{name: "bad base64", body: `%%%`, base64: true, wantKind: fault.Malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Request{maxBody: DefaultMaxBody, Event: events.APIGatewayV2HTTPRequest{
				Body: tt.body, IsBase64Encoded: tt.base64, Headers: map[string]string{"content-type": tt.contentType}}}
			var got sample
			err := r.Decode(&got)
			if tt.wantKind == "" {
				if err != nil || got.Name != "a" {
					t.Fatalf("Decode = %+v, %v", got, err)
				}
				return
			}
			fe := fault.As(err)
			if fe == nil || fe.Kind != tt.wantKind {
				t.Fatalf("err = %v, want kind %s", err, tt.wantKind)
			}
			if tt.wantField != "" && (len(fe.Fields) != 1 || fe.Fields[0].Field != tt.wantField) {
				t.Errorf("fields = %+v, want %s", fe.Fields, tt.wantField)
			}
		})
	}
}

// TestDecodeEmptyBody: an empty body is {} (API.md conventions), so it
// decodes to the zero value and leaves required fields to validation.
func TestDecodeEmptyBody(t *testing.T) {
	for _, body := range []string{"", "  \n\t", base64.StdEncoding.EncodeToString(nil)} {
		for _, ct := range []string{"", "application/json"} {
			r := &Request{maxBody: DefaultMaxBody, Event: events.APIGatewayV2HTTPRequest{
				Body: body, Headers: map[string]string{"content-type": ct}}}
			got := sample{Name: "untouched"}
			if err := r.Decode(&got); err != nil || got.Name != "untouched" || got.Count != 0 {
				t.Errorf("Decode(%q, %q) = %+v, %v; want no error and nothing set", body, ct, got, err)
			}
		}
	}
}

// FuzzDecode: no input makes decoding panic or fail with an uncoded error
// (which would become a 500).
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"name":"a","count":1,"tags":["x"]}`, `{"items":[{"kind":"x","kind":"y"}],"meta":{"a":1}}`, `{"ref":"r","REF":"s"}`, `{`, `[]`, `{"count":1e99}`, `{"tags":{}}`, "\x00", `{"name":"\ud800"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := &Request{maxBody: DefaultMaxBody, Event: events.APIGatewayV2HTTPRequest{Body: body}}
		var v sample
		if err := r.Decode(&v); err != nil && fault.As(err) == nil {
			t.Fatalf("uncoded error for %q: %v", body, err)
		}
	})
}

type fakeVerifier struct{}

func (fakeVerifier) Verify(tok string) (caller.Caller, error) {
	switch tok {
	case "good":
		return caller.Caller{UserID: "u1", OrgID: "o1", Role: access.Staff}, nil
	case "setup": // a member who must set up two-factor first
		return caller.Caller{UserID: "u1", OrgID: "o1", Role: access.Staff, Scope: caller.ScopeMFASetup}, nil
	}
	return caller.Caller{}, errors.New("bad token")
}

// securityHeaders are on every answer, success or problem.
var securityHeaders = map[string]string{
	"Cache-Control":             "no-store",
	"X-Content-Type-Options":    "nosniff",
	"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
	"Content-Security-Policy":   "default-src 'none'; frame-ancestors 'none'",
	"X-Frame-Options":           "DENY",
	"Referrer-Policy":           "no-referrer",
}

func TestRouter(t *testing.T) {
	rt := NewRouter(routes.FnOrg, Options{Verifier: fakeVerifier{}, Members: fakeMembers(nil), AllowedOrigins: []string{"https://app.example"}})
	for _, r := range routes.ForFunction(routes.FnOrg) {
		rt.Handle(r.Key(), func(ctx context.Context, req *Request) (*Response, error) {
			return JSON(200, map[string]string{"ok": "1"}), nil
		})
	}
	rt.Handle("GET /v1/me", func(ctx context.Context, req *Request) (*Response, error) {
		if p, _ := PrincipalFrom(ctx); p.OrgID != "o1" {
			t.Errorf("principal not in context: %+v", p)
		}
		return JSON(200, map[string]string{"org": req.Principal.OrgID}), nil
	})
	rt.Handle("GET /v1/org", func(ctx context.Context, req *Request) (*Response, error) { panic("boom") })
	rt.Handle("PATCH /v1/org", func(ctx context.Context, req *Request) (*Response, error) {
		return nil, req.Require(access.ManageOrg)
	})
	rt.Handle("GET /v1/users", func(ctx context.Context, req *Request) (*Response, error) {
		e := fault.E(fault.RateLimited, "slow down")
		e.RetryAfter = 1500 * time.Millisecond
		return nil, e
	})
	rt.Handle("DELETE /v1/users/{userId}", func(ctx context.Context, req *Request) (*Response, error) {
		return nil, errors.New("dynamodb exploded: secret detail")
	})
	if err := rt.Check(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, key, authz, origin string
		wantStatus               int
		wantHeader               map[string]string
	}{
		{name: "ok", key: "GET /v1/me", authz: "Bearer good", wantStatus: 200},
		{name: "no token", key: "GET /v1/me", wantStatus: 401, wantHeader: map[string]string{"WWW-Authenticate": `Bearer realm="matterly"`}},
		{name: "bad token", key: "GET /v1/me", authz: "Bearer nope", wantStatus: 401},
		{name: "basic auth", key: "GET /v1/me", authz: "Basic good", wantStatus: 401},
		{name: "panic is a 500", key: "GET /v1/org", authz: "Bearer good", wantStatus: 500},
		{name: "role forbids", key: "PATCH /v1/org", authz: "Bearer good", wantStatus: 403},
		{name: "rate limited", key: "GET /v1/users", authz: "Bearer good", wantStatus: 429, wantHeader: map[string]string{"Retry-After": "2"}},
		{name: "uncoded error", key: "DELETE /v1/users/{userId}", authz: "Bearer good", wantStatus: 500},
		{name: "unknown route", key: "GET /v1/nope", authz: "Bearer good", wantStatus: 404},
		{name: "cors allowed", key: "GET /v1/me", authz: "Bearer good", origin: "https://app.example", wantStatus: 200,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Credentials": "true"}},
		{name: "cors other origin", key: "GET /v1/me", authz: "Bearer good", origin: "https://evil.example", wantStatus: 200,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, _, _ := strings.Cut(tt.key, " ")
			ev := events.APIGatewayV2HTTPRequest{RouteKey: tt.key, Headers: map[string]string{"authorization": tt.authz, "origin": tt.origin}}
			ev.RequestContext.HTTP.Method = method
			resp, err := rt.Serve(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, tt.wantStatus, resp.Body)
			}
			if resp.Headers["X-Request-Id"] == "" {
				t.Error("no X-Request-Id")
			}
			for k, v := range securityHeaders {
				if resp.Headers[k] != v {
					t.Errorf("%s = %q, want %q", k, resp.Headers[k], v)
				}
			}
			for k, v := range tt.wantHeader {
				if resp.Headers[k] != v {
					t.Errorf("header %s = %q, want %q", k, resp.Headers[k], v)
				}
			}
			if resp.StatusCode >= 400 {
				var p Problem
				if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || p.Status != tt.wantStatus || p.Type == "" || p.Title == "" {
					t.Errorf("problem body %q", resp.Body)
				}
				if resp.Headers["Content-Type"] != "application/problem+json" {
					t.Errorf("content type %q", resp.Headers["Content-Type"])
				}
				if strings.Contains(resp.Body, "secret detail") || strings.Contains(resp.Body, "boom") {
					t.Errorf("internal detail leaked: %s", resp.Body)
				}
			}
		})
	}
}

// TestAccessLogIsEMF checks the access log line is a valid CloudWatch
// Embedded Metric Format record and carries no token.
func TestAccessLogIsEMF(t *testing.T) {
	var buf bytes.Buffer
	rt := NewRouter(routes.FnOrg, Options{Verifier: fakeVerifier{}, Members: fakeMembers(nil), Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	for _, r := range routes.ForFunction(routes.FnOrg) {
		rt.Handle(r.Key(), func(ctx context.Context, req *Request) (*Response, error) { return nil, fault.E(fault.NotFound, "no") })
	}
	ev := events.APIGatewayV2HTTPRequest{RouteKey: "GET /v1/me", Headers: map[string]string{"authorization": "Bearer good"}}
	ev.RequestContext.HTTP.Method = "GET"
	if _, err := rt.Serve(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	var line struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Function     string  `json:"function"`
		Route        string  `json:"route"`
		Latency      float64 `json:"Latency"`
		ClientErrors int     `json:"ClientErrors"`
		ServerErrors int     `json:"ServerErrors"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	m := line.AWS.CloudWatchMetrics
	if line.AWS.Timestamp == 0 || len(m) != 1 || m[0].Namespace != "Matterly" || len(m[0].Metrics) != 3 {
		t.Errorf("EMF metadata = %+v", line.AWS)
	}
	if line.Function != "org" || line.Route != "GET /v1/me" || line.ClientErrors != 1 || line.ServerErrors != 0 {
		t.Errorf("EMF values = %+v", line)
	}
	if strings.Contains(buf.String(), "good") {
		t.Errorf("access log carries the token: %s", buf.String())
	}
}

func TestRouterCheck(t *testing.T) {
	rt := NewRouter(routes.FnAuth, Options{Verifier: fakeVerifier{}})
	if err := rt.Check(); err == nil {
		t.Error("Check passed with no handlers")
	}
	rt.Handle("GET /v1/me", nil)
	for _, r := range routes.ForFunction(routes.FnAuth) {
		rt.Handle(r.Key(), nil)
	}
	if err := rt.Check(); err == nil {
		t.Error("Check passed with a handler for another function's route")
	}
}

// TestRouterCaller pins what the router hands a handler as its caller: on
// every route where the call came from (the User-Agent clipped to what the
// activity log stores), and on an authenticated route who, the same in
// req.Principal and in the context.
func TestRouterCaller(t *testing.T) {
	long := strings.Repeat("a", caller.MaxUserAgent+10)
	tests := []struct {
		name, fn, key, authz, ua string
		want                     caller.Caller
	}{
		{name: "authenticated", fn: routes.FnOrg, key: "GET /v1/me", authz: "Bearer good", ua: "curl/8",
			want: caller.Caller{OrgID: "o1", UserID: "u1", Role: access.Staff, IP: "192.0.2.7", UserAgent: "curl/8"}},
		{name: "long user agent clipped", fn: routes.FnOrg, key: "GET /v1/me", authz: "Bearer good", ua: long,
			want: caller.Caller{OrgID: "o1", UserID: "u1", Role: access.Staff, IP: "192.0.2.7", UserAgent: long[:caller.MaxUserAgent]}},
		{name: "public route: where from only", fn: routes.FnAuth, key: "POST /v1/auth/login", ua: "curl/8",
			want: caller.Caller{IP: "192.0.2.7", UserAgent: "curl/8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := NewRouter(tt.fn, Options{Verifier: fakeVerifier{}, Members: fakeMembers(nil)})
			var got, inCtx caller.Caller
			for _, r := range routes.ForFunction(tt.fn) {
				rt.Handle(r.Key(), func(ctx context.Context, req *Request) (*Response, error) {
					got = req.Principal
					inCtx, _ = PrincipalFrom(ctx)
					return NoContent(), nil
				})
			}
			if err := rt.Check(); err != nil {
				t.Fatal(err)
			}
			method, _, _ := strings.Cut(tt.key, " ")
			ev := events.APIGatewayV2HTTPRequest{RouteKey: tt.key, Headers: map[string]string{"authorization": tt.authz}}
			ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.SourceIP, ev.RequestContext.HTTP.UserAgent = method, "192.0.2.7", tt.ua
			resp, err := rt.Serve(context.Background(), ev)
			if err != nil || resp.StatusCode != 204 {
				t.Fatalf("status %d, err %v: %s", resp.StatusCode, err, resp.Body)
			}
			if got != tt.want {
				t.Errorf("req.Principal = %+v, want %+v", got, tt.want)
			}
			if tt.authz != "" && inCtx != tt.want {
				t.Errorf("PrincipalFrom = %+v, want %+v", inCtx, tt.want)
			}
		})
	}
}
