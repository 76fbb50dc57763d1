package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/localaws"
)

// TestRealFunctionsServeAsLambda builds the real functions and runs each as
// Lambda would (its own process, the Runtime API, the wiring of its
// main.go) against the embedded DynamoDB: sign-up through accounts, login
// through auth, an unauthenticated read through org.
func TestRealFunctionsServeAsLambda(t *testing.T) {
	ctx := context.Background()
	root, err := moduleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := localaws.StartDynamo("")
	if err != nil {
		t.Fatal(err)
	}
	defer dyn.Close()
	s3, err := localaws.StartS3("")
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	env := []string{"TABLE_NAME=matterly", "DYNAMODB_ENDPOINT=" + dyn.Endpoint(), "DEV_DATA_DIR=" + t.TempDir(),
		"S3_ENDPOINT=" + s3.Endpoint(), "BUCKET_NAME=" + s3.Bucket()}

	signup := sampleEvent(t, root, "apigw-signup.json")
	tests := []struct {
		fn            string
		event         []byte
		first, second int // statuses of the cold and the warm invoke
	}{
		// The same sign-up twice: created, then the email is taken.
		{"accounts", signup, 201, 409},
		{"auth", sampleEvent(t, root, "apigw-login.json"), 200, 200},
		{"org", sampleEvent(t, root, "apigw-get-me.json"), 401, 401},
		// The samples carry no valid token: these prove init and dispatch.
		{"crm", sampleEvent(t, root, "apigw-list-clients.json"), 401, 401},
		{"documents", sampleEvent(t, root, "apigw-list-documents.json"), 401, 401},
		{"trust", sampleEvent(t, root, "apigw-trust-reconciliation.json"), 401, 401},
		// A function URL event (no route key) reaches the webhook's route;
		// without a webhook secret configured it answers 503.
		{"stripewebhook", sampleEvent(t, root, "furl-stripe-webhook.json"), 503, 503},
		{"messaging", sampleEvent(t, root, "apigw-send-sms.json"), 401, 401},
		// Without TWILIO_AUTH_TOKEN the Twilio webhook refuses everything.
		{"twiliowebhook", sampleEvent(t, root, "furl-twilio-sms.json"), 503, 503},
		{"ai", sampleEvent(t, root, "apigw-summarize.json"), 401, 401},
	}
	// One go build for every function: it loads the packages once and
	// links the binaries side by side, where a build per function took
	// about 9 s each on a busy machine.
	bins := t.TempDir()
	args := append([]string{"build"}, lambdaBuildFlags...)
	args = append(args, "-o", bins+string(filepath.Separator))
	for _, tt := range tests {
		args = append(args, "./functions/"+tt.fn)
	}
	build := exec.CommandContext(ctx, "go", args...)
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, tt := range tests {
		t.Run(tt.fn, func(t *testing.T) {
			bin := filepath.Join(bins, tt.fn)
			s := coldStart(ctx, tt.fn, bin, runOptions{event: tt.event, env: env, timeout: 30 * time.Second})
			if len(s.Errors) > 0 {
				t.Fatalf("errors: %v\noutput: %s", s.Errors, s.Output)
			}
			if s.FirstStatus != tt.first || s.WarmStatus != tt.second {
				t.Errorf("statuses %d, %d; want %d, %d\noutput: %s", s.FirstStatus, s.WarmStatus, tt.first, tt.second, s.Output)
			}
		})
	}
}

func sampleEvent(t *testing.T, root, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "events", name))
	if err != nil || !json.Valid(b) {
		t.Fatalf("event %s: %v", name, err)
	}
	return b
}
