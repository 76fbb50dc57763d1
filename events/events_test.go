package events

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
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

// triggers names every event source of the functions with the aws-lambda-go
// type its handler takes: each must have samples, and each sample must be
// exactly what that type reads and writes.
var triggers = []struct {
	prefix string     // sample file names start with it
	fn     string     // the function (handler) it triggers
	decode func() any // a new value of the handler's event type
	want   []string   // samples that must exist
}{
	{"sqs-", "messageworker, aiworker, stripeworker, esignworker, privacyworker", func() any { return new(events.SQSEvent) },
		[]string{"sqs-messages.json", "sqs-summaries.json", "sqs-stripe-events.json", "sqs-esign-files.json", "sqs-privacy-exports.json"}},
	{"eventbridge-", "notifier, privacyworker", func() any { return new(events.EventBridgeEvent) },
		[]string{"eventbridge-schedule.json", "eventbridge-ses-bounce.json", "eventbridge-ses-complaint.json", "eventbridge-matter-closed.json", "eventbridge-retention.json"}},
	{"dynamodb-", "relay", func() any { return new(events.DynamoDBEvent) }, []string{"dynamodb-stream.json"}},
	{"furl-", "twiliowebhook, stripewebhook, speech, dropboxsignwebhook", func() any { return new(events.LambdaFunctionURLRequest) },
		[]string{"furl-twilio-sms.json", "furl-twilio-status.json", "furl-stripe-webhook.json", "furl-speech.json", "furl-dropbox-sign.json"}},
}

// furlIgnored are the members a function URL sends that
// events.LambdaFunctionURLRequest has no field for; no handler reads them.
var furlIgnored = []string{"routeKey", "requestContext.routeKey", "requestContext.stage"}

// TestTriggerSamples round-trips every sample of a queue, schedule,
// stream or function URL through the handler's event type and compares the
// JSON semantically: the same members with the same values, apart from the
// empty ones the type writes out. A misspelt member (lost on the way in)
// or a value of the wrong shape fails.
func TestTriggerSamples(t *testing.T) {
	for _, tr := range triggers {
		files, _ := filepath.Glob(tr.prefix + "*.json")
		for _, w := range tr.want {
			if !slices.Contains(files, w) {
				t.Errorf("%s: no sample %s", tr.fn, w)
			}
		}
		for _, f := range files {
			t.Run(f, func(t *testing.T) {
				raw, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				ev := tr.decode()
				dec := json.NewDecoder(strings.NewReader(string(raw)))
				if err := dec.Decode(ev); err != nil {
					t.Fatal(err)
				}
				again, err := json.Marshal(ev)
				if err != nil {
					t.Fatal(err)
				}
				var a, b any
				if err := json.Unmarshal(raw, &a); err != nil {
					t.Fatal(err)
				}
				_ = json.Unmarshal(again, &b)
				if tr.prefix == "furl-" {
					for _, path := range furlIgnored {
						drop(a, strings.Split(path, "."))
					}
				}
				if a, b := nonEmpty(a), nonEmpty(b); !reflect.DeepEqual(a, b) {
					wantJSON, _ := json.Marshal(a)
					gotJSON, _ := json.Marshal(b)
					t.Errorf("does not round-trip through %T:\nsample %s\nagain  %s", ev, wantJSON, gotJSON)
				}
				if u, ok := ev.(*events.LambdaFunctionURLRequest); ok {
					r, _, _ := routes.Match(u.RequestContext.HTTP.Method, u.RawPath)
					if !r.FunctionURL || u.RawPath != u.RequestContext.HTTP.Path {
						t.Errorf("%s %s is not a function URL route of the table", u.RequestContext.HTTP.Method, u.RawPath)
					}
				}
			})
		}
	}
}

// nonEmpty is v without its empty members (null, "", 0, false, {} and
// []), which a Go type writes for fields a sample leaves out.
func nonEmpty(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if e = nonEmpty(e); e != nil {
				out[k] = e
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		var out []any
		for _, e := range x {
			out = append(out, nonEmpty(e))
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case string:
		if x == "" {
			return nil
		}
	case float64:
		if x == 0 {
			return nil
		}
	case bool:
		if !x {
			return nil
		}
	}
	return v
}

// drop removes the member at path from v.
func drop(v any, path []string) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	if len(path) == 1 {
		delete(m, path[0])
		return
	}
	drop(m[path[0]], path[1:])
}
