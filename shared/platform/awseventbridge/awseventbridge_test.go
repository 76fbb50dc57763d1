package awseventbridge

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
)

// TestPublishWire checks the PutEvents request EventBridge receives.
func TestPublishWire(t *testing.T) {
	tests := []struct {
		name    string
		reply   string
		wantErr bool
	}{
		{"accepted", `{"FailedEntryCount":0,"Entries":[{"EventId":"e1"}]}`, false},
		{"entry failed", `{"FailedEntryCount":1,"Entries":[{"ErrorCode":"InternalFailure","ErrorMessage":"x"}]}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if got := r.Header.Get("X-Amz-Target"); got != "AWSEvents.PutEvents" {
					t.Errorf("X-Amz-Target = %q", got)
				}
				var in struct {
					Entries []map[string]string
				}
				b, _ := io.ReadAll(r.Body)
				if err := json.Unmarshal(b, &in); err != nil || len(in.Entries) != 1 {
					t.Fatalf("body %s", b)
				}
				e := in.Entries[0]
				if e["Source"] != "matterly" || e["DetailType"] != "client.created" || e["EventBusName"] != "matterly-bus" ||
					e["Detail"] != `{"clientId":"c1","orgId":"o1"}` {
					t.Errorf("entry = %v", e)
				}
				w.Header().Set("Content-Type", "application/x-amz-json-1.1")
				_, _ = io.WriteString(w, tt.reply)
			}))
			defer srv.Close()
			api := eventbridge.New(eventbridge.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
				Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")})
			p := &EventBridge{API: api, BusName: "matterly-bus"}
			err := p.Publish(context.Background(), "client.created", map[string]string{"orgId": "o1", "clientId": "c1"})
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}
