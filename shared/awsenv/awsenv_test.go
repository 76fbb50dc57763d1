package awsenv

import (
	"context"
	"strings"
	"testing"
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
