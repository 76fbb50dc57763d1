package relay

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/store/storetest"

	samples "github.com/matterly/matterly/events"
)

// TestStreamSample: the stream record of events/dynamodb-stream.json (a
// matter closed) is published as exactly the event the notifier's sample
// events/eventbridge-matter-closed.json holds, so the two samples, and the
// relay and notifier tests that read them, agree.
func TestStreamSample(t *testing.T) {
	var stream events.DynamoDBEvent
	samples.Read(t, "dynamodb-stream.json", &stream)
	var want events.EventBridgeEvent
	samples.Read(t, "eventbridge-matter-closed.json", &want)

	var types []string
	var details []json.RawMessage
	h := Handler{DB: storetest.DB(t), Keys: testKeys(t), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Bus: pub(func(dt string, d any) error {
		b, err := json.Marshal(d)
		types, details = append(types, dt), append(details, b)
		return err
	})}
	resp, err := h.Handle(context.Background(), stream)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("resp %+v, err %v", resp, err)
	}
	if len(types) != 1 || types[0] != want.DetailType {
		t.Fatalf("published %v, want one %s", types, want.DetailType)
	}
	var got, wantDetail map[string]any
	_ = json.Unmarshal(details[0], &got)
	_ = json.Unmarshal(want.Detail, &wantDetail)
	if !reflect.DeepEqual(got, wantDetail) {
		t.Fatalf("detail %s, want the notifier sample's %s", details[0], want.Detail)
	}
}
