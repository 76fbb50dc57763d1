package tokenkey

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/matterly/matterly/shared/keys"
)

type secrets map[string]string

func (s secrets) SecretString(_ context.Context, id string) (string, error) { return s[id], nil }

func TestHandler(t *testing.T) {
	root := bytes.Repeat([]byte("r"), 64)
	sm := secrets{"arn:token": string(root)}
	priv, _ := keys.TokenKey(root)
	want := keys.EncodePublicKey(priv.Public().(ed25519.PublicKey))
	tests := []struct {
		name    string
		ev      cfn.Event
		wantKey string
		wantErr bool
	}{
		{"create", cfn.Event{RequestType: cfn.RequestCreate, ResourceProperties: map[string]any{"SecretArn": "arn:token"}}, want, false},
		{"update", cfn.Event{RequestType: cfn.RequestUpdate, PhysicalResourceID: PhysicalID, ResourceProperties: map[string]any{"SecretArn": "arn:token"}}, want, false},
		{"delete reads nothing", cfn.Event{RequestType: cfn.RequestDelete, PhysicalResourceID: PhysicalID}, "", false},
		{"no secret named", cfn.Event{RequestType: cfn.RequestCreate}, "", true},
		{"secret too short", cfn.Event{RequestType: cfn.RequestCreate, ResourceProperties: map[string]any{"SecretArn": "arn:none"}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, data, err := Handler(sm)(context.Background(), tt.ev)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if id != PhysicalID {
				t.Errorf("physical id %q", id)
			}
			if got, _ := data["PublicKey"].(string); got != tt.wantKey {
				t.Errorf("PublicKey = %q, want %q", got, tt.wantKey)
			}
		})
	}
}
