// Package events holds sample events (API Gateway, SQS, EventBridge, the
// DynamoDB stream, function URL webhooks) shared by tests and make invoke;
// this test keeps them faithful. The worker and relay tests read them as
// their input (shared/relay, shared/messaging, shared/payments).
package events

import (
	"embed"
	"encoding/json"
	"testing"
)

//go:embed *.json
var samples embed.FS

// Read decodes the sample event name (a file of this folder) into v: the
// worker and relay tests take their input from here.
func Read(t testing.TB, name string, v any) {
	t.Helper()
	raw, err := samples.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}
