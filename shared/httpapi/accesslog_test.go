package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/routes"
)

// TestRequestLog checks the lines a handler logs through req.Log carry the
// request's id, function, route and caller, also through a logger the
// handler derives (With, WithGroup), and that the access line follows.
func TestRequestLog(t *testing.T) {
	var buf bytes.Buffer
	rt := NewRouter(routes.FnOrg, Options{Verifier: fakeVerifier{}, Members: fakeMembers(nil), Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	for _, r := range routes.ForFunction(routes.FnOrg) {
		rt.Handle(r.Key(), func(ctx context.Context, req *Request) (*Response, error) {
			req.Log.Info("plain", "n", 1)
			req.Log.With("k", "v").Info("with")
			req.Log.WithGroup("g").Info("group", "n", 2)
			return NoContent(), nil
		})
	}
	ev := events.APIGatewayV2HTTPRequest{RouteKey: "GET /v1/me", Headers: map[string]string{"authorization": "Bearer good"}}
	ev.RequestContext.HTTP.Method, ev.RequestContext.RequestID = "GET", "req-1"
	if resp, err := rt.Serve(context.Background(), ev); err != nil || resp.StatusCode != 204 {
		t.Fatalf("Serve = %d, %v", resp.StatusCode, err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), buf.String())
	}
	for i, want := range []map[string]any{
		{"msg": "plain", "n": 1.0},
		{"msg": "with", "k": "v"},
		{"msg": "group", "g": map[string]any{"n": 2.0}},
		{"msg": "request", "status": 204.0},
	} {
		var got map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
			t.Fatalf("line %d %q: %v", i, lines[i], err)
		}
		want["requestId"], want["function"], want["route"], want["orgId"], want["userId"] = "req-1", "org", "GET /v1/me", "o1", "u1"
		for k, v := range want {
			if gb, _ := json.Marshal(got[k]); string(gb) != mustJSON(t, v) {
				t.Errorf("line %d: %s = %s, want %s (%s)", i, k, gb, mustJSON(t, v), lines[i])
			}
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
