package localaws

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestS3RefusesUnsignedAndAnswersCORSOnlyForDevOrigins: the bucket is
// private and its CORS rule names the dev origins, never *; presigned URLs
// (signed in the query) keep working, from the dev app too.
func TestS3RefusesUnsignedAndAnswersCORSOnlyForDevOrigins(t *testing.T) {
	st := startS3(t, "")
	ctx := context.Background()
	presigned, err := s3.NewPresignClient(st.Client()).PresignPutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(st.Bucket()), Key: aws.String("uploads/a.txt"), ContentType: aws.String("text/plain"),
	}, s3.WithPresignExpires(15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	bucket := st.Endpoint() + "/" + st.Bucket()
	const dev, evil = "http://localhost:5173", "https://evil.example"
	tests := []struct {
		name       string
		method     string
		url        string
		header     map[string]string
		body       string
		wantStatus int
		wantCode   string // S3 error code in the XML body
		wantACAO   string // Access-Control-Allow-Origin; "" = none
	}{
		{name: "unsigned listing", method: "GET", url: bucket, wantStatus: 403, wantCode: "AccessDenied"},
		{name: "unsigned listing from another origin", method: "GET", url: bucket, header: map[string]string{"Origin": evil}, wantStatus: 403, wantCode: "AccessDenied"},
		{name: "unsigned object read", method: "GET", url: bucket + "/uploads/a.txt", wantStatus: 403, wantCode: "AccessDenied"},
		{name: "presigned put from the dev app", method: "PUT", url: presigned.URL, body: "hello",
			header: map[string]string{"Origin": dev, "Content-Type": "text/plain"}, wantStatus: 200, wantACAO: dev},
		{name: "presigned put from another origin", method: "PUT", url: presigned.URL, body: "hello",
			header: map[string]string{"Origin": evil, "Content-Type": "text/plain"}, wantStatus: 200},
		{name: "preflight from the dev app", method: "OPTIONS", url: presigned.URL,
			header: map[string]string{"Origin": dev, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"}, wantStatus: 200, wantACAO: dev},
		{name: "preflight from another origin", method: "OPTIONS", url: presigned.URL,
			header: map[string]string{"Origin": evil, "Access-Control-Request-Method": "PUT"}, wantStatus: 403, wantCode: "AccessForbidden"},
		{name: "preflight for a method the rule lacks", method: "OPTIONS", url: presigned.URL,
			header: map[string]string{"Origin": dev, "Access-Control-Request-Method": "DELETE"}, wantStatus: 403, wantCode: "AccessForbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantCode != "" && !strings.Contains(string(body), "<Code>"+tt.wantCode+"</Code>") {
				t.Errorf("body %s, want code %s", body, tt.wantCode)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.wantACAO {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tt.wantACAO)
			}
		})
	}
	// The SDK's signed requests are served, with no CORS headers.
	if _, err := st.Client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(st.Bucket())}); err != nil {
		t.Errorf("signed listing: %v", err)
	}
}
