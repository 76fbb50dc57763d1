package platform

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// TestSecretsManagerWire checks the signing secret is read with Secrets
// Manager's JSON protocol, as the real service expects it.
func TestSecretsManagerWire(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("X-Amz-Target"); got != "secretsmanager.GetSecretValue" {
			t.Errorf("X-Amz-Target = %q", got)
		}
		if r.Header.Get("Authorization") == "" {
			t.Error("request is not SigV4-signed")
		}
		var in map[string]any
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &in)
		if in["SecretId"] != "arn:aws:secretsmanager:us-east-1:1:secret:signing" {
			t.Errorf("SecretId = %v", in["SecretId"])
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{"ARN":"arn","Name":"signing","SecretString":"s3cr3t"}`))
	}))
	defer srv.Close()
	c := secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")})
	got, err := secretsManager{c}.SecretString(context.Background(), "arn:aws:secretsmanager:us-east-1:1:secret:signing")
	if err != nil || got != "s3cr3t" {
		t.Fatalf("SecretString = %q, %v", got, err)
	}
}
