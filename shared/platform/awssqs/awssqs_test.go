package awssqs

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

const queueURL = "https://sqs.us-east-1.amazonaws.com/123456789012/matterly-sms-outbound"

// sqsRequest is one request as the fake SQS endpoint saw it.
type sqsRequest struct {
	method, path, target, contentType, auth string
	body                                    map[string]any
}

// fakeSQS answers SendMessage the way SQS does over AWS JSON 1.0, or
// with the status and body in reply when set.
type fakeSQS struct {
	reply     func(body map[string]any) (int, string)
	mu        sync.Mutex
	requests  []sqsRequest
	serverURL string
}

func newFakeSQS(t *testing.T) *fakeSQS {
	t.Helper()
	f := &fakeSQS{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("request body is not JSON: %q", raw)
		}
		f.mu.Lock()
		f.requests = append(f.requests, sqsRequest{
			method: r.Method, path: r.URL.Path, target: r.Header.Get("X-Amz-Target"),
			contentType: r.Header.Get("Content-Type"), auth: r.Header.Get("Authorization"), body: body,
		})
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if f.reply != nil {
			status, out := f.reply(body)
			w.WriteHeader(status)
			io.WriteString(w, out)
			return
		}
		sum := md5.Sum([]byte(body["MessageBody"].(string)))
		json.NewEncoder(w).Encode(map[string]string{"MessageId": "5fea7756-0ea4-451a-a703-a558b933e274", "MD5OfMessageBody": hex.EncodeToString(sum[:])})
	}))
	t.Cleanup(srv.Close)
	f.serverURL = srv.URL
	return f
}

// seen returns the requests so far.
func (f *fakeSQS) seen() []sqsRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sqsRequest(nil), f.requests...)
}

func (f *fakeSQS) client() *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(f.serverURL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		Retryer:      retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 1 }),
	})
}

func TestSQSSendWireFormat(t *testing.T) {
	f := newFakeSQS(t)
	s := NewSQS(f.client(), map[string]string{"sms-outbound": queueURL})
	err := s.Send(context.Background(), "sms-outbound", `{"messageId":"01H"}`, map[string]string{"orgId": "01HORG", "kind": "reminder"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	reqs := f.seen()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	checks := []struct{ name, got, want string }{
		{"method", r.method, http.MethodPost},
		{"path", r.path, "/"},
		{"target", r.target, "AmazonSQS.SendMessage"},
		{"content type", r.contentType, "application/x-amz-json-1.0"},
		{"queue url", r.body["QueueUrl"].(string), queueURL},
		{"body", r.body["MessageBody"].(string), `{"messageId":"01H"}`},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !strings.HasPrefix(r.auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(r.auth, "/us-east-1/sqs/aws4_request") {
		t.Errorf("Authorization = %q, want SigV4 for sqs", r.auth)
	}
	attrs, _ := r.body["MessageAttributes"].(map[string]any)
	want := map[string]any{
		"orgId": map[string]any{"DataType": "String", "StringValue": "01HORG"},
		"kind":  map[string]any{"DataType": "String", "StringValue": "reminder"},
	}
	gotJSON, _ := json.Marshal(attrs)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("MessageAttributes = %s, want %s", gotJSON, wantJSON)
	}
}

func TestSQSSendErrors(t *testing.T) {
	tests := []struct {
		name  string
		queue string
		body  string
		reply func(map[string]any) (int, string)
		want  string
		calls int // requests that must reach SQS
	}{
		{name: "unknown queue", queue: "nope", body: "x", want: `unknown queue "nope" (configured: sms-outbound)`},
		{name: "invalid message", queue: "sms-outbound", body: "", want: "empty"},
		{name: "service error", queue: "sms-outbound", body: "x", calls: 1, want: "QueueDoesNotExist",
			reply: func(map[string]any) (int, string) {
				return http.StatusBadRequest, `{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}`
			}},
		// The SDK checks SQS's MD5 of the body; a mismatch is an error.
		{name: "checksum mismatch", queue: "sms-outbound", body: "x", calls: 1, want: "checksum",
			reply: func(map[string]any) (int, string) {
				return http.StatusOK, `{"MessageId":"m","MD5OfMessageBody":"00000000000000000000000000000000"}`
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSQS(t)
			f.reply = tt.reply
			s := NewSQS(f.client(), map[string]string{"sms-outbound": queueURL})
			err := s.Send(context.Background(), tt.queue, tt.body, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
			if n := len(f.seen()); n != tt.calls {
				t.Errorf("%d requests reached SQS, want %d", n, tt.calls)
			}
		})
	}
}
