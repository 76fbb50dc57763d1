package twilio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/messaging"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "0123456789abcdef0123456789abcdef"
	testBody  = "Smith & Co: your appointment is at 10:00 tomorrow. Reply STOP to opt out."
)

// created is Twilio's answer to a message create (201), in the shape of the
// example in https://www.twilio.com/docs/messaging/api/message-resource.
const created = `{
  "account_sid": "AC0123456789abcdef0123456789abcdef",
  "api_version": "2010-04-01",
  "body": "Smith & Co: your appointment is at 10:00 tomorrow. Reply STOP to opt out.",
  "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
  "date_sent": null,
  "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
  "direction": "outbound-api",
  "error_code": null,
  "error_message": null,
  "from": "+15557122661",
  "messaging_service_sid": null,
  "num_media": "0",
  "num_segments": "1",
  "price": null,
  "price_unit": "USD",
  "sid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
  "status": "queued",
  "subresource_uris": {"media": "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/SM1f0e8ae6ade43cb3c0ce4525424e404f/Media.json"},
  "to": "+15558675310",
  "uri": "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/SM1f0e8ae6ade43cb3c0ce4525424e404f.json"
}`

// twilioError is Twilio's error body (https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions).
func twilioError(status, code int, message string) string {
	return fmt.Sprintf(`{"code": %d, "message": %q, "more_info": "https://www.twilio.com/docs/errors/%d", "status": %d}`, code, message, code, status)
}

// seen is what the fake Twilio received.
type seen struct {
	method, path, contentType string
	user, pass                string
	basic                     bool
	form                      url.Values
}

// fakeTwilio answers every request with status, headers and body, and
// reports what it received on the returned channel.
func fakeTwilio(t *testing.T, status int, header http.Header, body string) (*httptest.Server, <-chan seen) {
	t.Helper()
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			t.Errorf("form body %q: %v", raw, err)
		}
		s := seen{method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type"), form: form}
		s.user, s.pass, s.basic = r.BasicAuth()
		got <- s
		for k, vs := range header {
			w.Header()[k] = vs
		}
		if strings.HasPrefix(body, "{") {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestSendSMSWire(t *testing.T) {
	tests := []struct {
		name     string
		in       messaging.OutboundSMS
		wantForm url.Values
	}{
		{
			name: "from number",
			in:   messaging.OutboundSMS{To: "+15558675310", From: "+15557122661", Body: testBody, StatusCallback: "https://api.example.com/webhooks/twilio/status"},
			wantForm: url.Values{"To": {"+15558675310"}, "From": {"+15557122661"}, "Body": {testBody},
				"StatusCallback": {"https://api.example.com/webhooks/twilio/status"}},
		},
		{
			name: "messaging service wins over from",
			in: messaging.OutboundSMS{To: "+15558675310", From: "+15557122661", MessagingServiceSID: "MG0123456789abcdef0123456789abcdef",
				Body: testBody, StatusCallback: "https://api.example.com/webhooks/twilio/status"},
			wantForm: url.Values{"To": {"+15558675310"}, "MessagingServiceSid": {"MG0123456789abcdef0123456789abcdef"}, "Body": {testBody},
				"StatusCallback": {"https://api.example.com/webhooks/twilio/status"}},
		},
		{
			name:     "no status callback",
			in:       messaging.OutboundSMS{To: "+15558675310", From: "+15557122661", Body: "ünïcode ✓"},
			wantForm: url.Values{"To": {"+15558675310"}, "From": {"+15557122661"}, "Body": {"ünïcode ✓"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := fakeTwilio(t, http.StatusCreated, nil, created)
			id, err := New(testSID, testToken, srv.URL).SendSMS(context.Background(), tt.in)
			if err != nil {
				t.Fatalf("SendSMS: %v", err)
			}
			if want := "SM1f0e8ae6ade43cb3c0ce4525424e404f"; id != want {
				t.Errorf("id = %q, want %q", id, want)
			}
			s := <-got
			if s.method != http.MethodPost {
				t.Errorf("method = %s, want POST", s.method)
			}
			if want := "/2010-04-01/Accounts/" + testSID + "/Messages.json"; s.path != want {
				t.Errorf("path = %s, want %s", s.path, want)
			}
			if !s.basic || s.user != testSID || s.pass != testToken {
				t.Errorf("basic auth = %q:%q (%v), want the account SID and auth token", s.user, s.pass, s.basic)
			}
			if s.contentType != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type = %q", s.contentType)
			}
			if !reflect.DeepEqual(s.form, tt.wantForm) {
				t.Errorf("form = %v\nwant   %v", s.form, tt.wantForm)
			}
		})
	}
}

func TestSendSMSBasePath(t *testing.T) {
	// A sandbox mounted under a path keeps its prefix before the API path.
	srv, got := fakeTwilio(t, http.StatusCreated, nil, created)
	if _, err := New(testSID, testToken, srv.URL+"/twilio/").SendSMS(context.Background(), messaging.OutboundSMS{To: "+15558675310", From: "+15557122661", Body: "x"}); err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	if s, want := <-got, "/twilio/2010-04-01/Accounts/"+testSID+"/Messages.json"; s.path != want {
		t.Errorf("path = %s, want %s", s.path, want)
	}
}

func TestSendSMSErrors(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		status        int
		header        http.Header
		body          string
		wantStatus    int
		wantCode      int
		wantPermanent bool
		wantRetry     time.Duration
	}{
		{name: "unsubscribed recipient", status: 400, body: twilioError(400, 21610, "Attempt to send to unsubscribed recipient"),
			wantStatus: 400, wantCode: 21610, wantPermanent: true},
		{name: "invalid To", status: 400, body: twilioError(400, 21211, "The 'To' number +1555 is not a valid phone number."),
			wantStatus: 400, wantCode: 21211, wantPermanent: true},
		{name: "not a mobile number", status: 400, body: twilioError(400, 21614, "'To' number is not a valid mobile number"),
			wantStatus: 400, wantCode: 21614, wantPermanent: true},
		{name: "region not enabled", status: 400, body: twilioError(400, 21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"),
			wantStatus: 400, wantCode: 21408, wantPermanent: true},
		{name: "authentication", status: 401, body: twilioError(401, 20003, "Authenticate"),
			wantStatus: 401, wantCode: 20003, wantPermanent: true},
		{name: "unknown service", status: 404, body: twilioError(404, 20404, "The requested resource was not found"),
			wantStatus: 404, wantCode: 20404, wantPermanent: true},
		{name: "sender queue full", status: 400, body: twilioError(400, 21611, "This 'From' number has exceeded the maximum number of queued messages"),
			wantStatus: 400, wantCode: 21611},
		{name: "rate limited with seconds", status: 429, header: http.Header{"Retry-After": {"7"}}, body: twilioError(429, 20429, "Too Many Requests"),
			wantStatus: 429, wantCode: 20429, wantRetry: 7 * time.Second},
		{name: "rate limited with a date", status: 429, header: http.Header{"Retry-After": {"Mon, 02 Mar 2026 10:00:30 GMT"}}, body: twilioError(429, 20429, "Too Many Requests"),
			wantStatus: 429, wantCode: 20429, wantRetry: 30 * time.Second},
		{name: "rate limited without a hint", status: 429, body: twilioError(429, 20429, "Too Many Requests"),
			wantStatus: 429, wantCode: 20429},
		{name: "unavailable, not JSON", status: 503, header: http.Header{"Retry-After": {"2"}}, body: "<html>Service Unavailable</html>",
			wantStatus: 503, wantRetry: 2 * time.Second},
		{name: "internal error", status: 500, body: twilioError(500, 20500, "Internal Server Error"),
			wantStatus: 500, wantCode: 20500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := fakeTwilio(t, tt.status, tt.header, tt.body)
			c := New(testSID, testToken, srv.URL)
			c.now = func() time.Time { return now }
			_, err := c.SendSMS(context.Background(), messaging.OutboundSMS{To: "+15558675310", From: "+15557122661", Body: testBody})
			var se *SendError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v (%T), want *SendError", err, err)
			}
			if se.Status != tt.wantStatus || se.Code != tt.wantCode {
				t.Errorf("status, code = %d, %d, want %d, %d", se.Status, se.Code, tt.wantStatus, tt.wantCode)
			}
			if got := se.Permanent(); got != tt.wantPermanent {
				t.Errorf("Permanent() = %v, want %v", got, tt.wantPermanent)
			}
			if got := se.RetryAfter(); got != tt.wantRetry {
				t.Errorf("RetryAfter() = %v, want %v", got, tt.wantRetry)
			}
			if strings.Contains(err.Error(), testBody) {
				t.Errorf("error carries the message body: %v", err)
			}
		})
	}
}

func TestSendSMSNoAnswer(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		_, err := New(testSID, testToken, srv.URL).SendSMS(context.Background(), messaging.OutboundSMS{To: "+15558675310", From: "+15557122661", Body: testBody})
		var se *SendError
		if !errors.As(err, &se) || se.Permanent() || se.Status != 0 {
			t.Fatalf("err = %v, want a retryable *SendError without status", err)
		}
		if se.Ambiguous() {
			t.Error("a connection never made is not ambiguous: the text surely did not go out")
		}
		if strings.Contains(err.Error(), testBody) {
			t.Errorf("error carries the message body: %v", err)
		}
	})
	t.Run("caller's context canceled", func(t *testing.T) {
		srv, _ := fakeTwilio(t, http.StatusCreated, nil, created)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := New(testSID, testToken, srv.URL).SendSMS(ctx, messaging.OutboundSMS{To: "+15558675310", From: "+15557122661", Body: testBody})
		var se *SendError
		if !errors.As(err, &se) || se.Permanent() || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want a retryable *SendError wrapping context.Canceled", err)
		}
	})
	t.Run("success answer unreadable", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, "{not json")
		}))
		defer srv.Close()
		_, err := New(testSID, testToken, srv.URL).SendSMS(context.Background(), messaging.OutboundSMS{To: "+15558675310", From: "+15557122661", Body: testBody})
		var se *SendError
		if !errors.As(err, &se) || se.Permanent() || !se.Ambiguous() {
			t.Fatalf("err = %v, want an ambiguous *SendError (Twilio may have the message)", err)
		}
	})
	t.Run("bad base URL", func(t *testing.T) {
		_, err := New(testSID, testToken, "localhost:8080").SendSMS(context.Background(), messaging.OutboundSMS{To: "+15558675310", Body: testBody})
		if err == nil || !strings.Contains(err.Error(), "TWILIO_API_BASE_URL") {
			t.Fatalf("err = %v, want one naming TWILIO_API_BASE_URL", err)
		}
	})
}

func TestPermanent(t *testing.T) {
	tests := []struct {
		err  SendError
		want bool
	}{
		{SendError{Status: 400, Code: 21610}, true},
		{SendError{Status: 400, Code: 21612}, true},
		{SendError{Code: 21610}, true}, // a recipient refusal, whatever the status
		{SendError{Status: 400, Code: 21617}, true},
		{SendError{Status: 403, Code: 20403}, true},
		{SendError{Status: 400, Code: 21611}, false},
		{SendError{Status: 429, Code: 20429}, false},
		{SendError{Status: 429}, false},
		{SendError{Status: 500}, false},
		{SendError{Status: 502}, false},
		{SendError{}, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%d", tt.err.Status, tt.err.Code), func(t *testing.T) {
			if got := tt.err.Permanent(); got != tt.want {
				t.Errorf("Permanent() = %v, want %v", got, tt.want)
			}
		})
	}
}
