package devstack

import (
	"net/http"
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/routes"
)

// securityHeaders are on every answer of every route, success or problem,
// API Gateway route or function URL.
var securityHeaders = map[string]string{
	"Cache-Control":             "no-store",
	"X-Content-Type-Options":    "nosniff",
	"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
	"X-Frame-Options":           "DENY",
	"Referrer-Policy":           "no-referrer",
}

// checkSecurityHeaders reports a missing or different security header. The
// content security policy allows nothing on every answer but a page (the
// unsubscribe page sets its own).
func checkSecurityHeaders(t *testing.T, r result) {
	t.Helper()
	for k, v := range securityHeaders {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	csp := r.Header.Get("Content-Security-Policy")
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") && csp != "default-src 'none'; frame-ancestors 'none'" {
		t.Errorf("Content-Security-Policy = %q on a %q answer", csp, r.Header.Get("Content-Type"))
	}
	if csp == "" {
		t.Error("no Content-Security-Policy")
	}
}

// TestSecurityHeadersSweep walks every route twice, as its sample request
// with a valid token and with a garbage one, and checks the security headers
// on both answers.
func TestSecurityHeadersSweep(t *testing.T) {
	t.Parallel()
	v := newVictim(t, "staff")
	a := v.owner
	for _, rt := range routes.Table {
		t.Run(rt.Key(), func(t *testing.T) {
			path, body, ok := sampleRequest(rt.Key(), a, v)
			if !ok {
				t.Fatalf("no sample request for %s", rt.Key())
			}
			bad := &client{t: t, token: "abc.def.ghi"}
			checkSecurityHeaders(t, bad.do(rt.Method, path, body))
			if rt.Method == http.MethodGet { // the writes' answers are covered by the empty-body sweep
				ok := &client{t: t, token: a.token}
				r := ok.do(rt.Method, path, body)
				if r.Status >= 500 {
					t.Fatalf("status %d: %s", r.Status, r.Raw)
				}
				checkSecurityHeaders(t, r)
			}
		})
	}
}

// TestEmptyBodySweep sends every POST, PUT and PATCH route of the app API
// an empty JSON body (API.md: a POST or PUT whose fields are all optional
// accepts it as {}). It is never a 400: a route with a required field
// answers 422 naming it, one with none does its work.
func TestEmptyBodySweep(t *testing.T) {
	t.Parallel()
	v := newVictim(t, "staff")
	a := v.owner
	for _, rt := range routes.Table {
		if rt.Method != http.MethodPost && rt.Method != http.MethodPut && rt.Method != http.MethodPatch {
			continue
		}
		// A webhook refuses anything unsigned with 400 before reading it;
		// the one-click unsubscribe and the consent confirmation read their
		// signed link, not a JSON body (their sample links are bad ones,
		// answered 400 for that).
		if strings.HasPrefix(rt.Path, "/webhooks/") || rt.Path == "/unsubscribe" || rt.Path == "/consent/confirm" {
			continue
		}
		t.Run(rt.Key(), func(t *testing.T) {
			path, _, ok := sampleRequest(rt.Key(), a, v)
			if !ok {
				t.Fatalf("no sample request for %s", rt.Key())
			}
			for _, body := range []any{"", nil} { // with and without a JSON content type
				c := &client{t: t, token: a.token, refresh: a.refresh, ip: nextIP()}
				r := c.do(rt.Method, path, body)
				switch {
				case r.Status == 400 || r.Status >= 500:
					t.Fatalf("empty body (%T) = %d: %s", body, r.Status, r.Raw)
				case r.Status == 422 && !strings.Contains(r.Raw, `"field":"`):
					t.Errorf("empty body (%T) = 422 naming no field: %s", body, r.Raw)
				}
				checkSecurityHeaders(t, r)
			}
		})
	}
}
