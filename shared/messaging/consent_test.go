package messaging

import (
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/httpapi"
)

// TestClientOptedOut: which opt-outs only the client (or an override)
// undoes. An opt-out stored without a method counts as the client's.
func TestClientOptedOut(t *testing.T) {
	for _, tt := range []struct {
		state, method string
		want          bool
	}{
		{ConsentOut, MethodKeyword, true},
		{ConsentOut, MethodUnsubscribe, true},
		{ConsentOut, MethodProvider, true},
		{ConsentOut, "", true},
		{ConsentOut, MethodStaff, false},
		{ConsentOut, MethodWebForm, false},
		{ConsentOut, MethodImport, false},
		{ConsentIn, MethodKeyword, false},
		{ConsentIn, MethodStaffOverride, false},
		{"", "", false},
	} {
		if got := ClientOptedOut(Consent{State: tt.state, Method: tt.method}); got != tt.want {
			t.Errorf("ClientOptedOut(%s by %q) = %v, want %v", tt.state, tt.method, got, tt.want)
		}
	}
}

// TestConsentPermission: billing records opt-outs only; overrides are for
// owners and admins.
func TestConsentPermission(t *testing.T) {
	for _, tt := range []struct {
		in   ConsentInput
		want access.Permission
	}{
		{ConsentInput{State: ConsentOut, Method: MethodStaff}, access.RecordConsent},
		{ConsentInput{State: ConsentIn, Method: MethodStaff}, access.OptInConsent},
		{ConsentInput{State: ConsentIn, Method: MethodImport}, access.OptInConsent},
		{ConsentInput{State: ConsentIn, Method: MethodStaffOverride}, access.OverrideConsent},
		{ConsentInput{State: ConsentOut, Method: MethodStaffOverride}, access.OverrideConsent},
	} {
		if got := consentPermission(tt.in); got != tt.want {
			t.Errorf("consentPermission(%+v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestPageHeaders: the client pages run no script, load nothing, post
// only to us, are never framed and escape what they show.
func TestPageHeaders(t *testing.T) {
	r := page("Unsubscribe", "Stop emails from <Doe & Roe>?", "Unsubscribe")
	body := string(r.Body.(httpapi.Raw))
	for k, want := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
	} {
		if r.Headers[k] != want {
			t.Errorf("%s = %q, want %q", k, r.Headers[k], want)
		}
	}
	if !strings.Contains(body, "&lt;Doe &amp; Roe&gt;") || strings.Contains(body, "<Doe") || !strings.Contains(body, "<form method=post>") ||
		strings.Contains(body, "action=") || strings.Contains(body, "<script") {
		t.Errorf("page %s", body)
	}
	if body := string(page("Unsubscribed", "Done.", "").Body.(httpapi.Raw)); strings.Contains(body, "<form") {
		t.Errorf("a page without a button has a form: %s", body)
	}
}
