package awsenv

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConfig: the region and credentials come from Lambda's variables (the
// session token too); a missing one is an error naming the variable, not a
// configuration that fails on its first call.
func TestConfig(t *testing.T) {
	tests := []struct {
		name, region, envRegion, id, secret, token string
		wantRegion, wantErr                        string
	}{
		{name: "lambda", envRegion: "eu-west-2", id: "ASIA1", secret: "s", token: "tok", wantRegion: "eu-west-2"},
		{name: "configured region wins", region: "us-east-1", envRegion: "eu-west-2", id: "ASIA1", secret: "s", wantRegion: "us-east-1"},
		{name: "no region", id: "ASIA1", secret: "s", wantErr: "AWS_REGION"},
		{name: "no key", envRegion: "eu-west-2", secret: "s", wantErr: "AWS_ACCESS_KEY_ID"},
		{name: "no secret", envRegion: "eu-west-2", id: "ASIA1", wantErr: "AWS_SECRET_ACCESS_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AWS_REGION", tt.envRegion)
			t.Setenv("AWS_ACCESS_KEY_ID", tt.id)
			t.Setenv("AWS_SECRET_ACCESS_KEY", tt.secret)
			t.Setenv("AWS_SESSION_TOKEN", tt.token)
			t.Setenv("AWS_CA_BUNDLE", "")
			cfg, err := Config(tt.region)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil || cfg.Region != tt.wantRegion || creds.AccessKeyID != tt.id || creds.SecretAccessKey != tt.secret || creds.SessionToken != tt.token {
				t.Errorf("region %q, credentials %+v, %v", cfg.Region, creds, err)
			}
		})
	}
}

// TestConfigRefusesWhatItDoesNotApply: a setting LoadDefaultConfig would
// have applied from the environment stops the start, named, instead of
// being ignored (FIPS endpoints asked for and not used, say).
func TestConfigRefusesWhatItDoesNotApply(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "")
	t.Setenv("AWS_REGION", "us-gov-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "ASIA1")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
	for _, name := range []string{"AWS_USE_FIPS_ENDPOINT", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_MAX_ATTEMPTS"} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, "true")
			if _, err := Config(""); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("err = %v, want one naming %s", err, name)
			}
		})
	}
	if _, err := Config(""); err != nil {
		t.Errorf("without them: %v", err)
	}
}

// TestConfigCABundle: AWS_CA_BUNDLE's certificates are the ones trusted,
// as LoadDefaultConfig has it: a server it signs is reached, and refused
// under a bundle of another certificate; a file with no certificate stops
// the start.
func TestConfigCABundle(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-2")
	t.Setenv("AWS_ACCESS_KEY_ID", "ASIA1")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "another CA"}, IsCA: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), BasicConstraintsValid: true}
	another, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tests := []struct {
		name    string
		pem     []byte
		reached bool
	}{
		{"the server's certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), true},
		{"another certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: another}), false},
	}
	for i, tt := range tests {
		bundle := filepath.Join(dir, fmt.Sprintf("ca%d.pem", i))
		if err := os.WriteFile(bundle, tt.pem, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("AWS_CA_BUNDLE", bundle)
		cfg, err := Config("")
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		resp, err := cfg.HTTPClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		if (err == nil) != tt.reached {
			t.Errorf("%s: reached %v (%v), want %v", tt.name, err == nil, err, tt.reached)
		}
	}
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CA_BUNDLE", empty)
	if _, err := Config(""); err == nil || !strings.Contains(err.Error(), "AWS_CA_BUNDLE") {
		t.Errorf("a bundle with no certificate: %v", err)
	}
}
