// Package events holds sample events (API Gateway, SQS, EventBridge,
// webhooks) shared by tests and make invoke; this test keeps them faithful.
package events

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/routes"
)

// TestAPIGatewaySamples round-trips every API Gateway sample through
// aws-lambda-go's type (no field lost or misspelled) and checks its route
// key names a route of the route table.
func TestAPIGatewaySamples(t *testing.T) {
	files, _ := filepath.Glob("apigw-*.json")
	if len(files) == 0 {
		t.Fatal("no apigw-*.json samples")
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			again, _ := json.Marshal(ev)
			var a, b map[string]any
			_ = json.Unmarshal(raw, &a)
			_ = json.Unmarshal(again, &b)
			// Every field of the sample survives (the type adds empty ones of its own).
			if missing := lost(a, b, ""); missing != "" {
				t.Errorf("sample field %s does not round-trip through events.APIGatewayV2HTTPRequest", missing)
			}
			r, params, _ := routes.Match(ev.RequestContext.HTTP.Method, ev.RawPath)
			if r.Key() != ev.RouteKey || r.Function == "" {
				t.Errorf("routeKey %q does not match the table (matched %q)", ev.RouteKey, r.Key())
			}
			for k, v := range params {
				if ev.PathParameters[k] != v {
					t.Errorf("pathParameters[%s] = %q, want %q", k, ev.PathParameters[k], v)
				}
			}
		})
	}
}

// lost returns the first path in want that got does not hold with the same value.
func lost(want, got map[string]any, prefix string) string {
	for k, w := range want {
		g, ok := got[k]
		wm, wIsMap := w.(map[string]any)
		gm, gIsMap := g.(map[string]any)
		switch {
		case !ok:
			return prefix + k
		case wIsMap && gIsMap:
			if p := lost(wm, gm, prefix+k+"."); p != "" {
				return p
			}
		case !reflect.DeepEqual(w, g):
			return prefix + k
		}
	}
	return ""
}
