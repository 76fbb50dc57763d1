package platform

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/keys"
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
	got, err := SecretsManager{c}.SecretString(context.Background(), "arn:aws:secretsmanager:us-east-1:1:secret:signing")
	if err != nil || got != "s3cr3t" {
		t.Fatalf("SecretString = %q, %v", got, err)
	}
}

// TestTokenKeys: issuers hold the private key; every other function verifies
// with the published public key alone, and a mismatch stops the start.
func TestTokenKeys(t *testing.T) {
	root := bytes.Repeat([]byte("t"), 64)
	priv, _ := keys.TokenKey(root)
	pub := keys.EncodePublicKey(priv.Public().(ed25519.PublicKey))
	_, other, _ := ed25519.GenerateKey(nil)
	tests := []struct {
		name       string
		root       []byte
		publicKey  string
		wantErr    bool
		wantIssuer bool
	}{
		{"verifier only", nil, pub, false, false},
		{"issuer", root, pub, false, true},
		{"issuer without published key", root, "", false, true},
		{"published key mismatch", root, keys.EncodePublicKey(other.Public().(ed25519.PublicKey)), true, false},
		// config.Tokens refuses the start; a function that never
		// verifies (a queue worker) simply gets no verifier.
		{"neither", nil, "", false, false},
		{"garbled public key", nil, "not base64!", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Deps{Config: config.Config{TokenPublicKey: tt.publicKey, TokenIssuer: "i", TokenAudience: "a"}, Now: time.Now}
			err := d.tokenKeys(tt.root)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if (d.Tokens != nil) != tt.wantIssuer || (d.TokenKey != nil) != tt.wantIssuer || (d.Verifier == nil) != (tt.root == nil && tt.publicKey == "") {
				t.Errorf("issuer %v, key %v, verifier %v", d.Tokens != nil, d.TokenKey != nil, d.Verifier != nil)
			}
			if tt.wantIssuer {
				tok, _, _ := d.Tokens.Issue(caller.Caller{UserID: "u", OrgID: "o", Role: access.Staff})
				if _, err := d.Verifier.Verify(tok); err != nil {
					t.Errorf("own token does not verify: %v", err)
				}
			}
		})
	}
}

// slowSecrets answers each secret after a wait, failing the ids in fail.
type slowSecrets struct {
	wait time.Duration
	fail map[string]bool
}

func (s slowSecrets) SecretString(_ context.Context, id string) (string, error) {
	time.Sleep(s.wait)
	if s.fail[id] {
		return "", fmt.Errorf("no %s", id)
	}
	return " " + id + "\n", nil
}

// TestReadSecrets: the secrets are read side by side, "" reads as none,
// and the error is the first in the order given.
func TestReadSecrets(t *testing.T) {
	ids := []string{"a", "", "b", "c", "d"}
	start := time.Now()
	raw, err := readSecrets(context.Background(), slowSecrets{wait: 200 * time.Millisecond}, ids)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 700*time.Millisecond {
		t.Errorf("4 reads of 200 ms took %v: not side by side", took)
	}
	if string(raw[0]) != "a" || raw[1] != nil || string(raw[2]) != "b" || string(raw[4]) != "d" {
		t.Errorf("raw = %q", raw)
	}
	_, err = readSecrets(context.Background(), slowSecrets{fail: map[string]bool{"c": true, "b": true}}, ids)
	if err == nil || !strings.Contains(err.Error(), "no b") {
		t.Errorf("err = %v, want b's", err)
	}
}
