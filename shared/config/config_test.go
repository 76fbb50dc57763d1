package config

import (
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	env := func(m map[string]string) Getenv { return func(k string) string { return m[k] } }
	tests := []struct {
		name    string
		env     map[string]string
		wantErr bool
		check   func(t *testing.T, c Config)
	}{
		{name: "bad segments", env: map[string]string{"SMS_MAX_SEGMENTS": "0"}, wantErr: true},
		{name: "aws", env: map[string]string{"TABLE_NAME": "t", "SIGNING_SECRET_ARN": "arn:x", "CORS_ORIGINS": " https://a.example , https://b.example,"},
			check: func(t *testing.T, c Config) {
				if c.Local() || len(c.CORSOrigins) != 2 || c.CORSOrigins[1] != "https://b.example" || c.TokenIssuer != "matterly" {
					t.Errorf("config = %+v", c)
				}
			}},
		{name: "local", env: map[string]string{"TABLE_NAME": "t", "DYNAMODB_ENDPOINT": "http://127.0.0.1:1"},
			check: func(t *testing.T, c Config) {
				if !c.Local() || c.DevDataDir != ".dev" {
					t.Errorf("config = %+v", c)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(env(tt.env))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

// TestRequire: each function states what it cannot start without; the
// relay needs neither table nor secrets, an HTTP function all three, and a
// local run has stand-ins for every secret and the bus.
func TestRequire(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		needs   []Need
		wantErr string
	}{
		{"nothing needed", Config{}, nil, ""},
		{"relay", Config{EventBusName: "b"}, []Need{Events}, ""},
		{"relay without bus", Config{}, []Need{Events}, EnvEventBus},
		{"no table", Config{}, []Need{Table}, EnvTableName},
		{"aws needs the signing secret", Config{TableName: "t"}, []Need{Table, Signing}, EnvSigningSecretARN},
		{"http without token key", Config{TableName: "t", SigningSecret: "s"}, HTTP, EnvTokenPublicKey},
		{"http", Config{TableName: "t", SigningSecret: "s", TokenPublicKey: "k"}, HTTP, ""},
		{"token issuer", Config{TableName: "t", SigningSecret: "s", TokenSecret: "a"}, HTTP, ""},
		{"local http", Config{TableName: "t", DynamoEndpoint: "http://127.0.0.1:1"}, append(HTTP, Events), ""},
		{"local still needs a table", Config{DynamoEndpoint: "http://127.0.0.1:1"}, HTTP, EnvTableName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Require(tt.needs...)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want one naming %q", err, tt.wantErr)
			}
		})
	}
}
