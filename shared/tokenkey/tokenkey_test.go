package tokenkey

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/matterly/matterly/shared/keys"
)

type secrets map[string]string

func (s secrets) SecretString(_ context.Context, id string) (string, error) { return s[id], nil }

// flaky denies the first n reads, as IAM does before a new grant applies.
type flaky struct {
	secrets
	n, calls int
}

func (f *flaky) SecretString(ctx context.Context, id string) (string, error) {
	f.calls++
	if f.calls <= f.n {
		return "", errors.New("AccessDeniedException")
	}
	return f.secrets.SecretString(ctx, id)
}

func TestHandlerWaitsForItsGrant(t *testing.T) {
	root := bytes.Repeat([]byte("r"), 64)
	ev := cfn.Event{RequestType: cfn.RequestCreate, ResourceProperties: map[string]any{"SecretArn": "arn:token"}}
	pauses := 0
	pause := func(time.Duration) { pauses++ }
	f := &flaky{secrets: secrets{"arn:token": string(root)}, n: 2}
	if _, data, err := Handler(f, pause)(context.Background(), ev); err != nil || data["PublicKey"] == nil {
		t.Fatalf("after two denials: %v, %v", data, err)
	}
	if pauses != 2 {
		t.Errorf("%d pauses, want 2", pauses)
	}
	f = &flaky{secrets: secrets{"arn:token": string(root)}, n: 100}
	if _, _, err := Handler(f, pause)(context.Background(), ev); err == nil || f.calls != readAttempts {
		t.Errorf("never granted: err %v after %d reads, want an error after %d", err, f.calls, readAttempts)
	}
}

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
			id, data, err := Handler(sm, func(time.Duration) {})(context.Background(), tt.ev)
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
