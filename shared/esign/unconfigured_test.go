package esign

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/store/storetest"
)

// TestUnconfiguredAnswers503: without an API key, every call that needs
// Dropbox Sign and the callback answer 503 naming what to set, before
// anything is read or written.
func TestUnconfiguredAnswers503(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := NewService(db, nil, nil, log, time.Now)
	a := caller.Caller{OrgID: storetest.ID(), UserID: storetest.ID(), Role: "owner"}
	in := SendInput{Signers: []SignerInput{{Name: "Ann", Email: "ann@example.com"}}}
	for name, err := range map[string]error{
		"send":   func() error { _, _, err := svc.Send(ctx, a, "", storetest.ID(), in); return err }(),
		"cancel": func() error { _, err := svc.Cancel(ctx, a, storetest.ID()); return err }(),
		"remind": func() error {
			_, err := svc.Remind(ctx, a, storetest.ID(), RemindInput{Email: "ann@example.com"})
			return err
		}(),
	} {
		if !fault.Is(err, fault.Unavailable) || !strings.Contains(err.Error(), "DROPBOX_SIGN_API_KEY") {
			t.Errorf("%s: %v, want a 503 naming DROPBOX_SIGN_API_KEY", name, err)
		}
	}
	for _, key := range []string{"", UnsetSecret} {
		rt, err := NewWebhookRouter(svc, Webhook{APIKey: key}, httpapi.RouterConfig{Options: httpapi.Options{Logger: log}})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := rt.Serve(ctx, events.APIGatewayV2HTTPRequest{RouteKey: "POST /webhooks/dropbox-sign", RawPath: "/webhooks/dropbox-sign",
			Headers: map[string]string{"content-type": "application/json"}, Body: `{"event":{"event_time":"1","event_type":"callback_test","event_hash":"00"}}`,
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/webhooks/dropbox-sign"}}})
		if err != nil || resp.StatusCode != 503 || !strings.Contains(resp.Body, "DROPBOX_SIGN_API_KEY") {
			t.Errorf("key %q: callback = %d %s (%v)", key, resp.StatusCode, resp.Body, err)
		}
	}
}
