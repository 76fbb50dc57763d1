package platform

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/keys"
)

// TestSecretsManagerWire: secrets are read with Secrets Manager's JSON
// protocol as the service expects it: a POST to /, the JSON 1.1 content
// type and GetSecretValue target, {"SecretId"} as the body, SigV4 for the
// secretsmanager service in the configured region with the session token,
// and a signature that re-signing the received request reproduces.
func TestSecretsManagerWire(t *testing.T) {
	const id = "arn:aws:secretsmanager:eu-west-2:1:secret:signing"
	creds := aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET", SessionToken: "SESSION"}
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/" {
			t.Errorf("%s %s, want POST /", r.Method, r.URL.Path)
		}
		if got := r.Header.Get("X-Amz-Target"); got != "secretsmanager.GetSecretValue" {
			t.Errorf("X-Amz-Target = %q", got)
		}
		if got := r.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
			t.Errorf("Content-Type = %q", got)
		}
		if string(b) != `{"SecretId":"`+id+`"}` {
			t.Errorf("body = %s", b)
		}
		if got := r.Header.Get("X-Amz-Security-Token"); got != "SESSION" {
			t.Errorf("X-Amz-Security-Token = %q", got)
		}
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKID/") || !strings.Contains(auth, "/eu-west-2/secretsmanager/aws4_request") {
			t.Errorf("Authorization = %q", auth)
		}
		// Re-sign what arrived, at the time it says it was signed: the
		// same signature, or the payload or a signed header was changed.
		at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
		if err != nil {
			t.Fatal(err)
		}
		again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.Path, bytes.NewReader(b))
		for _, h := range []string{"Content-Type", "X-Amz-Target"} {
			again.Header.Set(h, r.Header.Get(h))
		}
		sum := sha256.Sum256(b)
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), "secretsmanager", "eu-west-2", at); err != nil {
			t.Fatal(err)
		}
		if again.Header.Get("Authorization") != auth {
			t.Errorf("signature does not verify:\n got %s\nwant %s", auth, again.Header.Get("Authorization"))
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{"ARN":"arn","Name":"signing","SecretString":"s3cr3t","VersionId":"v1"}`))
	}))
	defer srv.Close()
	sm := Secrets{AWS: aws.Config{Region: "eu-west-2", Credentials: credentials.StaticCredentialsProvider{Value: creds}}, Endpoint: srv.URL}
	got, err := sm.SecretString(context.Background(), id)
	if err != nil || got != "s3cr3t" || calls != 1 {
		t.Fatalf("SecretString = %q, %v after %d calls", got, err, calls)
	}
}

// TestSecretsManagerErrors: throttling and 5xx answers are retried (three
// attempts in all, waiting between them), a refusal is not, and every error
// names the service's error type.
func TestSecretsManagerErrors(t *testing.T) {
	tests := []struct {
		name      string
		answers   []string // status code and body per call, the last repeated
		wantCalls int
		want      string // "" is success; else a part of the error
	}{
		{"throttled then served", []string{`400 {"__type":"ThrottlingException","message":"Rate exceeded"}`, `200 {"SecretString":"v"}`}, 2, ""},
		{"5xx then served", []string{`500 {"__type":"InternalServiceError"}`, `200 {"SecretString":"v"}`}, 2, ""},
		{"5xx three times", []string{`503 {"__type":"InternalServiceError","Message":"down"}`}, 3, "InternalServiceError (HTTP 503): down"},
		{"not found", []string{`400 {"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}`}, 1, "ResourceNotFoundException"},
		{"access denied", []string{`400 {"__type":"com.amazonaws.secretsmanager#AccessDeniedException","Message":"no"}`}, 1, "AccessDeniedException (HTTP 400): no"},
		{"binary secret", []string{`200 {"SecretBinary":"AAEC"}`}, 1, "has no string value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls int
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				a := tt.answers[min(calls, len(tt.answers)-1)]
				calls++
				code, body, _ := strings.Cut(a, " ")
				var status int
				_, _ = fmt.Sscan(code, &status)
				w.WriteHeader(status)
				_, _ = w.Write([]byte(body))
			}))
			defer srv.Close()
			var waits []time.Duration
			sm := Secrets{AWS: aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")},
				Endpoint: srv.URL, sleep: func(d time.Duration) { waits = append(waits, d) }}
			got, err := sm.SecretString(context.Background(), "s")
			if calls != tt.wantCalls || len(waits) != calls-1 {
				t.Errorf("%d calls, %d waits; want %d calls", calls, len(waits), tt.wantCalls)
			}
			if tt.want == "" {
				if err != nil || got != "v" {
					t.Errorf("= %q, %v", got, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
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

// TestSecretsEndpoint: the Secrets Manager endpoint is the region's, in its
// partition's domain.
func TestSecretsEndpoint(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1": "amazonaws.com", "eu-west-2": "amazonaws.com", "us-gov-west-1": "amazonaws.com",
		"cn-north-1": "amazonaws.com.cn", "us-iso-east-1": "c2s.ic.gov", "us-isob-east-1": "sc2s.sgov.gov",
		"us-isof-south-1": "csp.hci.ic.gov", "eu-isoe-west-1": "cloud.adc-e.uk", "eusc-de-east-1": "amazonaws.eu",
	} {
		if got := dnsSuffix(region); got != want {
			t.Errorf("%s: %s, want %s", region, got, want)
		}
	}
}
