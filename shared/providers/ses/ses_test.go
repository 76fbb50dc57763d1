package ses

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/matterly/matterly/shared/messaging"
)

const (
	testText    = "Dear Ms Doe,\n\nYour documents are ready to sign.\n\nSmith & Co"
	testSubject = "Documents ready — please sign"
	messageID   = "010001912d8d6e8e-6d0f7b8a-3d53-4cf7-9a6d-9d7a3c1e5f10-000000"
)

// seen is what the fake SES received.
type seen struct {
	method, path, contentType, auth string
	body                            map[string]any
}

// fakeSES answers every request with status, headers and body, and reports
// what it received on the returned channel.
func fakeSES(t *testing.T, status int, header http.Header, body string) (*httptest.Server, <-chan seen) {
	t.Helper()
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		s := seen{method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type"), auth: r.Header.Get("Authorization")}
		if err := json.Unmarshal(raw, &s.body); err != nil {
			t.Errorf("request body %q: %v", raw, err)
		}
		got <- s
		for k, vs := range header {
			w.Header()[k] = vs
		}
		w.Header().Set("X-Amzn-Requestid", "6b7c5f0e-3b1a-4f7e-9d2c-1a2b3c4d5e6f")
		if strings.HasPrefix(body, "{") {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// testConfig is a static-credential config; NewFromConfig makes one attempt
// per call, so error cases need no retry delay.
func testConfig() aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
}

func TestSendEmailWire(t *testing.T) {
	tests := []struct {
		name     string
		in       messaging.OutboundEmail
		set      string
		wantBody string
	}{
		{
			name: "with unsubscribe and configuration set",
			in: messaging.OutboundEmail{To: "jane.doe@example.com", FromName: "Smith & Co", FromAddress: "office@smith.example",
				Subject: testSubject, Text: testText, UnsubscribeURL: "https://api.matterly.example/u/01J0000000000000000000000.sig",
				Tags: map[string]string{"org": "01J0ORG", "msg": "01J0MSG"}},
			set: "matterly-email",
			wantBody: `{
				"ConfigurationSetName": "matterly-email",
				"EmailTags": [{"Name": "msg", "Value": "01J0MSG"}, {"Name": "org", "Value": "01J0ORG"}],
				"Content": {"Simple": {
					"Body": {"Text": {"Charset": "UTF-8", "Data": "Dear Ms Doe,\n\nYour documents are ready to sign.\n\nSmith & Co"}},
					"Headers": [
						{"Name": "List-Unsubscribe", "Value": "<https://api.matterly.example/u/01J0000000000000000000000.sig>"},
						{"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"}
					],
					"Subject": {"Data": "=?utf-8?q?Documents_ready_=E2=80=94_please_sign?="}
				}},
				"Destination": {"ToAddresses": ["jane.doe@example.com"]},
				"FromEmailAddress": "\"Smith & Co\" <office@smith.example>"
			}`,
		},
		{
			name: "platform sender with the firm as reply-to",
			in: messaging.OutboundEmail{To: "jane.doe@example.com", FromName: "Smith \"& Co\"\r\nBcc: x@evil.example", FromAddress: "no-reply@matterly.example",
				ReplyTo: "office@smith.example", Subject: "Hello", Text: "Hi"},
			wantBody: `{
				"Content": {"Simple": {
					"Body": {"Text": {"Charset": "UTF-8", "Data": "Hi"}},
					"Subject": {"Data": "Hello"}
				}},
				"Destination": {"ToAddresses": ["jane.doe@example.com"]},
				"FromEmailAddress": "\"Smith \\\"& Co\\\"  Bcc: x@evil.example\" <no-reply@matterly.example>",
				"ReplyToAddresses": ["office@smith.example"]
			}`,
		},
		{
			name: "plain",
			in:   messaging.OutboundEmail{To: "jane.doe@example.com", FromAddress: "office@smith.example", Subject: "Hello", Text: "Hi"},
			wantBody: `{
				"Content": {"Simple": {
					"Body": {"Text": {"Charset": "UTF-8", "Data": "Hi"}},
					"Subject": {"Data": "Hello"}
				}},
				"Destination": {"ToAddresses": ["jane.doe@example.com"]},
				"FromEmailAddress": "office@smith.example"
			}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := fakeSES(t, http.StatusOK, nil, `{"MessageId": "`+messageID+`"}`)
			id, err := NewFromConfig(testConfig(), srv.URL, tt.set).SendEmail(context.Background(), tt.in)
			if err != nil {
				t.Fatalf("SendEmail: %v", err)
			}
			if id != messageID {
				t.Errorf("id = %q, want %q", id, messageID)
			}
			s := <-got
			if s.method != http.MethodPost || s.path != "/v2/email/outbound-emails" {
				t.Errorf("request = %s %s, want POST /v2/email/outbound-emails", s.method, s.path)
			}
			if s.contentType != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", s.contentType)
			}
			// SigV4 with the static key, for SES in us-east-1.
			if !strings.HasPrefix(s.auth, "AWS4-HMAC-SHA256 Credential=AKID/") || !strings.Contains(s.auth, "/us-east-1/ses/aws4_request") ||
				!strings.Contains(s.auth, "Signature=") {
				t.Errorf("Authorization = %q, want a SigV4 signature for ses in us-east-1", s.auth)
			}
			var want map[string]any
			if err := json.Unmarshal([]byte(tt.wantBody), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.body, want) {
				gotJSON, _ := json.MarshalIndent(s.body, "", "  ")
				t.Errorf("body =\n%s\nwant\n%s", gotJSON, tt.wantBody)
			}
		})
	}
}

func TestSendEmailErrors(t *testing.T) {
	// SES v2 is REST-JSON: the error's code in X-Amzn-ErrorType, its
	// message in the body.
	errType := func(code string) http.Header {
		return http.Header{"X-Amzn-Errortype": {code + ":http://internal.amazon.com/coral/com.amazonaws.sesv2/"}}
	}
	tests := []struct {
		name          string
		status        int
		header        http.Header
		body          string
		wantCode      string
		wantPermanent bool
		wantRetry     time.Duration
	}{
		{name: "message rejected", status: 400, header: errType("MessageRejected"),
			body:     `{"message": "Email address is not verified. The following identities failed the check in region US-EAST-1: office@smith.example"}`,
			wantCode: "MessageRejected", wantPermanent: true},
		{name: "mail from domain not verified", status: 400, header: errType("MailFromDomainNotVerifiedException"),
			body: `{"message": "The MAIL FROM domain is not verified"}`, wantCode: "MailFromDomainNotVerifiedException", wantPermanent: true},
		{name: "account suspended", status: 400, header: errType("AccountSuspendedException"),
			body: `{"message": "Account suspended"}`, wantCode: "AccountSuspendedException", wantPermanent: true},
		{name: "sending paused", status: 400, header: errType("SendingPausedException"),
			body: `{"message": "Sending paused for this configuration set"}`, wantCode: "SendingPausedException", wantPermanent: true},
		{name: "configuration set not found", status: 404, header: errType("NotFoundException"),
			body: `{"message": "Configuration set <matterly-email> does not exist."}`, wantCode: "NotFoundException", wantPermanent: true},
		{name: "bad request", status: 400, header: errType("BadRequestException"),
			body: `{"message": "Missing final '@domain'"}`, wantCode: "BadRequestException", wantPermanent: true},
		{name: "access denied", status: 403, header: errType("AccessDeniedException"),
			body: `{"Message": "User is not authorized to perform ses:SendEmail"}`, wantCode: "AccessDeniedException", wantPermanent: true},
		{name: "too many requests", status: 429, header: errType("TooManyRequestsException"),
			body: `{"message": "Maximum sending rate exceeded."}`, wantCode: "TooManyRequestsException"},
		{name: "too many requests with Retry-After", status: 429,
			header: http.Header{"X-Amzn-Errortype": {"TooManyRequestsException"}, "Retry-After": {"3"}},
			body:   `{"message": "Maximum sending rate exceeded."}`, wantCode: "TooManyRequestsException", wantRetry: 3 * time.Second},
		{name: "limit exceeded", status: 400, header: errType("LimitExceededException"),
			body: `{"message": "Daily message quota exceeded."}`, wantCode: "LimitExceededException"},
		{name: "internal error", status: 500, header: errType("InternalServiceErrorException"),
			body: `{"message": "Internal error"}`, wantCode: "InternalServiceErrorException"},
		{name: "unavailable, not JSON", status: 503, body: "<html>Service Unavailable</html>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := fakeSES(t, tt.status, tt.header, tt.body)
			_, err := NewFromConfig(testConfig(), srv.URL, "").SendEmail(context.Background(), messaging.OutboundEmail{
				To: "jane.doe@example.com", FromName: "Smith & Co", FromAddress: "office@smith.example", Subject: testSubject, Text: testText})
			var se *SendError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v (%T), want *SendError", err, err)
			}
			if se.Status != tt.status {
				t.Errorf("Status = %d, want %d", se.Status, tt.status)
			}
			if tt.wantCode != "" && se.Code != tt.wantCode {
				t.Errorf("Code = %q, want %q", se.Code, tt.wantCode)
			}
			if got := se.Permanent(); got != tt.wantPermanent {
				t.Errorf("Permanent() = %v, want %v (%v)", got, tt.wantPermanent, err)
			}
			if got := se.RetryAfter(); got != tt.wantRetry {
				t.Errorf("RetryAfter() = %v, want %v", got, tt.wantRetry)
			}
			if se.RequestID == "" {
				t.Errorf("RequestID empty: %v", err)
			}
			if strings.Contains(err.Error(), testText) || strings.Contains(err.Error(), testSubject) {
				t.Errorf("error carries the content: %v", err)
			}
		})
	}
}

func TestSendEmailNoAnswer(t *testing.T) {
	in := messaging.OutboundEmail{To: "jane.doe@example.com", FromAddress: "office@smith.example", Subject: testSubject, Text: testText}
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		_, err := NewFromConfig(testConfig(), srv.URL, "").SendEmail(context.Background(), in)
		var se *SendError
		if !errors.As(err, &se) || se.Permanent() || se.Status != 0 {
			t.Fatalf("err = %v, want a retryable *SendError without status", err)
		}
	})
	t.Run("caller's context canceled", func(t *testing.T) {
		srv, _ := fakeSES(t, http.StatusOK, nil, `{"MessageId": "x"}`)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := NewFromConfig(testConfig(), srv.URL, "").SendEmail(ctx, in)
		var se *SendError
		if !errors.As(err, &se) || se.Permanent() || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want a retryable *SendError wrapping context.Canceled", err)
		}
	})
}

func TestFromHeader(t *testing.T) {
	const addr = "office@smith.example"
	tests := []struct {
		name, in string
		want     string // "" checks only that it parses back
		wantName string
	}{
		{name: "plain", in: "Smith Law", want: `"Smith Law" <office@smith.example>`, wantName: "Smith Law"},
		{name: "comma and ampersand", in: "Smith, Jones & Co", want: `"Smith, Jones & Co" <office@smith.example>`, wantName: "Smith, Jones & Co"},
		{name: "quotes and backslash", in: `The "Best" \ Law`, want: `"The \"Best\" \\ Law" <office@smith.example>`, wantName: `The "Best" \ Law`},
		{name: "non-ASCII", in: "Müller Rechtsanwälte", want: "=?utf-8?q?M=C3=BCller_Rechtsanw=C3=A4lte?= <office@smith.example>", wantName: "Müller Rechtsanwälte"},
		{name: "non-ASCII with a comma", in: "Müller, Schmidt", wantName: "Müller, Schmidt"},
		{name: "header injection", in: "Evil\r\nBcc: victim@example.com", wantName: "Evil  Bcc: victim@example.com"},
		{name: "no name", in: "  ", want: addr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromHeader(tt.in, addr)
			if tt.want != "" && got != tt.want {
				t.Errorf("FromHeader = %s, want %s", got, tt.want)
			}
			if strings.ContainsAny(got, "\r\n") {
				t.Errorf("FromHeader = %q has a line break", got)
			}
			a, err := mail.ParseAddress(got)
			if err != nil {
				t.Fatalf("ParseAddress(%q): %v", got, err)
			}
			if a.Name != tt.wantName || a.Address != addr {
				t.Errorf("parsed back as %q <%s>, want %q <%s>", a.Name, a.Address, tt.wantName, addr)
			}
		})
	}
}

func TestPermanent(t *testing.T) {
	tests := []struct {
		err  SendError
		want bool
	}{
		{SendError{Status: 400, Code: "MessageRejected"}, true},
		{SendError{Code: "MessageRejected"}, true},
		{SendError{Status: 400, Code: "SomethingNew"}, true},
		{SendError{Status: 400, Code: "LimitExceededException"}, false},
		{SendError{Status: 400, Code: "ThrottlingException"}, false},
		{SendError{Status: 408, Code: "RequestTimeout"}, false},
		{SendError{Status: 429}, false},
		{SendError{Status: 500, Code: "InternalServiceErrorException"}, false},
		{SendError{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.err.Code, func(t *testing.T) {
			if got := tt.err.Permanent(); got != tt.want {
				t.Errorf("%+v Permanent() = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestSubject(t *testing.T) {
	// What SES receives as Subject.Data is 7-bit and decodes back to the
	// subject (line breaks flattened).
	tests := []struct{ in, want string }{
		{"Hello", "Hello"},
		{"Documents ready — please sign", "Documents ready — please sign"},
		{"Ihre Unterlagen: Ärztliche Bescheinigung für Herrn Müller, bitte prüfen und unterschreiben", "Ihre Unterlagen: Ärztliche Bescheinigung für Herrn Müller, bitte prüfen und unterschreiben"},
		{"Two\r\nBcc: x@example.com", "Two  Bcc: x@example.com"},
	}
	for _, tt := range tests {
		srv, got := fakeSES(t, http.StatusOK, nil, `{"MessageId": "`+messageID+`"}`)
		if _, err := NewFromConfig(testConfig(), srv.URL, "").SendEmail(context.Background(), messaging.OutboundEmail{
			To: "jane.doe@example.com", FromAddress: "office@smith.example", Subject: tt.in, Text: "x"}); err != nil {
			t.Fatalf("SendEmail: %v", err)
		}
		s := <-got
		data, _ := s.body["Content"].(map[string]any)["Simple"].(map[string]any)["Subject"].(map[string]any)["Data"].(string)
		for _, r := range data {
			if r < 0x20 || r > 0x7e {
				t.Errorf("subject %q sent as %q: not printable ASCII", tt.in, data)
				break
			}
		}
		dec, err := new(mime.WordDecoder).DecodeHeader(data)
		if err != nil || dec != tt.want {
			t.Errorf("subject %q sent as %q, decodes to %q (%v), want %q", tt.in, data, dec, err, tt.want)
		}
	}
}
