package routes

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		method, path string
		wantKey      string
		wantParams   map[string]string
		wantKnown    bool
	}{
		{"POST", "/v1/auth/login", "POST /v1/auth/login", nil, true},
		{"GET", "/v1/users/01HX", "", nil, true}, // path exists, method does not
		{"PATCH", "/v1/users/01HX", "PATCH /v1/users/{userId}", map[string]string{"userId": "01HX"}, true},
		{"GET", "/v1/users/", "GET /v1/users", nil, true},
		{"GET", "/v1/nope", "", nil, false},
		{"PATCH", "/v1/users//x", "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r, params, known := Match(tt.method, tt.path)
			if got := keyOrEmpty(r); got != tt.wantKey {
				t.Errorf("route = %q, want %q", got, tt.wantKey)
			}
			if known != tt.wantKnown {
				t.Errorf("known = %v, want %v", known, tt.wantKnown)
			}
			for k, v := range tt.wantParams {
				if params[k] != v {
					t.Errorf("param %s = %q, want %q", k, params[k], v)
				}
			}
		})
	}
}

func keyOrEmpty(r Route) string {
	if r.Function == "" {
		return ""
	}
	return r.Key()
}

func TestTableIsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Table {
		if seen[r.Key()] {
			t.Errorf("route %s listed twice", r.Key())
		}
		seen[r.Key()] = true
		webhook := strings.HasPrefix(r.Path, "/webhooks/")
		// The links a client opens from an email or a text, signed instead of
		// authenticated (API.md's /unsubscribe).
		link := r.Path == "/unsubscribe" || r.Path == "/consent/confirm" || r.Path == "/v1/me/email/confirm"
		// OAuth redirects from a provider: the signed state is the proof.
		oauth := r.Path == "/v1/calendar/microsoft/callback"
		if !(strings.HasPrefix(r.Path, "/v1/") || webhook || link) || r.Function == "" {
			t.Errorf("route %s: want a /v1 or /webhooks path and a function", r.Key())
		}
		// Public: sign-up and login, and provider webhooks (which check
		// the provider's signature instead of a token).
		if webhook && !(r.Public && r.FunctionURL) {
			t.Errorf("route %s: a webhook has no access token and its own function URL; mark it Public and FunctionURL", r.Key())
		}
		if r.FunctionURL && !webhook && !r.Stream {
			t.Errorf("route %s: only webhooks and streamed answers are served by function URLs", r.Key())
		}
		if r.Stream && (!r.FunctionURL || r.Public) {
			t.Errorf("route %s: a streamed answer comes from an authenticated function URL", r.Key())
		}
		if r.Public && !webhook && !link && !oauth && !strings.HasPrefix(r.Path, "/v1/auth/") {
			t.Errorf("route %s is public outside /v1/auth and /webhooks", r.Key())
		}
	}
	got := 0
	for _, fn := range Functions() {
		got += len(ForFunction(fn))
	}
	if got != len(Table) {
		t.Errorf("functions cover %d routes, table has %d", got, len(Table))
	}
	if want := []string{FnAccounts, FnAuth, FnOrg, FnCRM, FnDocuments, FnTrust, FnPayments, FnStripeWebhook, FnMessaging, FnTwilioWebhook, FnAI, FnSpeech, FnESign, FnDropboxSignWebhook, FnChat, FnCalendar, FnMSGraphWebhook, FnPrivacy}; strings.Join(Functions(), ",") != strings.Join(want, ",") {
		t.Errorf("functions = %v, want %v", Functions(), want)
	}
}
