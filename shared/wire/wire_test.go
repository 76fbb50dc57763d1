package wire_test

import (
	"crypto/ed25519"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/cursor"
	"github.com/matterly/matterly/shared/envelope"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/token"
	"github.com/matterly/matterly/shared/wire/accountswire"
	"github.com/matterly/matterly/shared/wire/authwire"
	"github.com/matterly/matterly/shared/wire/calendarwire"
	"github.com/matterly/matterly/shared/wire/chatwire"
	"github.com/matterly/matterly/shared/wire/crmwire"
	"github.com/matterly/matterly/shared/wire/documentswire"
	"github.com/matterly/matterly/shared/wire/esignwire"
	"github.com/matterly/matterly/shared/wire/messagingapiwire"
	"github.com/matterly/matterly/shared/wire/messagingwire"
	"github.com/matterly/matterly/shared/wire/orgwire"
	"github.com/matterly/matterly/shared/wire/paymentswire"
	"github.com/matterly/matterly/shared/wire/privacywire"
	"github.com/matterly/matterly/shared/wire/stripewebhookwire"
	"github.com/matterly/matterly/shared/wire/summarieswire"
	"github.com/matterly/matterly/shared/wire/trustwire"
)

// deps is a function's Deps with everything configured; tests remove
// what they check is required.
func deps(t *testing.T) *platform.Deps {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	seal, err := cursor.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := envelope.NewLocal(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now
	return &platform.Deps{
		Sealer: sealer,
		Config: config.Config{BucketName: "docs", CORSOrigins: []string{"https://app.example"}, DynamoEndpoint: "http://127.0.0.1:1", S3Endpoint: "http://127.0.0.1:1"},
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)), Now: now,
		Tokens:   token.NewIssuer(priv, "iss", "aud", now),
		Verifier: token.NewVerifier(priv.Public().(ed25519.PublicKey), "iss", "aud", now),
		Cursors:  seal,
	}
}

// TestRouters: every API function's router builds from a configured
// function's Deps (its Check passes: every route of the table served, a
// membership check behind the authenticated ones), and the functions that
// cannot work without a piece refuse to start without it.
func TestRouters(t *testing.T) {
	builders := map[string]platform.RouterFunc{
		"accounts": accountswire.Router(nil), "auth": authwire.Router, "org": orgwire.Router, "crm": crmwire.Router,
		"documents": documentswire.Router, "trust": trustwire.Router, "payments": paymentswire.Router,
		"stripewebhook": stripewebhookwire.Router, "messaging": messagingapiwire.Router,
		"twiliowebhook": messagingwire.TwilioWebhookRouter, "ai": summarieswire.AIRouter, "esign": esignwire.Router,
		"dropboxsignwebhook": esignwire.WebhookRouter, "calendar": calendarwire.Router, "msgraphwebhook": calendarwire.WebhookRouter,
		"chat": chatwire.Router, "privacy": privacywire.Router,
	}
	for name, build := range builders {
		t.Run(name, func(t *testing.T) {
			if _, err := build(deps(t)); err != nil {
				t.Fatal(err)
			}
		})
	}
	tests := []struct {
		name    string
		build   platform.RouterFunc
		without func(*platform.Deps)
		want    string
	}{
		{"documents without S3", documentswire.Router, func(d *platform.Deps) { d.Config.S3Endpoint = "" }, "BUCKET_NAME"},
		{"documents without a bucket", documentswire.Router, func(d *platform.Deps) { d.Config.BucketName = "" }, "BUCKET_NAME"},
		{"auth without the token secret", authwire.Router, func(d *platform.Deps) { d.Tokens = nil }, "TOKEN_SECRET_ARN"},
		{"auth without the secret sealer", authwire.Router, func(d *platform.Deps) { d.Sealer = nil }, "KMS_KEY_ID"},
		{"accounts without the token secret", accountswire.Router(nil), func(d *platform.Deps) { d.Tokens = nil }, "TOKEN_SECRET_ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := deps(t)
			tt.without(d)
			if _, err := tt.build(d); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one naming %s", err, tt.want)
			}
		})
	}
}

// TestRouterConfig: what the routers get is what platform holds, with the
// membership check a router with authenticated routes requires.
func TestRouterConfig(t *testing.T) {
	d := deps(t)
	rc := d.RouterConfig()
	if rc.Cursors != d.Cursors || rc.Verifier != httpapi.Verifier(d.Verifier) || rc.Members == nil || rc.Logger != d.Log {
		t.Errorf("RouterConfig = %+v", rc)
	}
	if len(rc.AllowedOrigins) != 1 || rc.AllowedOrigins[0] != "https://app.example" {
		t.Errorf("AllowedOrigins = %v", rc.AllowedOrigins)
	}
}
