package messaging

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	samples "github.com/matterly/matterly/events"

	"github.com/matterly/matterly/shared/store/storetest"
	"github.com/matterly/matterly/shared/tenant"
)

// sampleSMS records what the worker hands to the provider.
type sampleSMS struct{ sent []OutboundSMS }

func (f *sampleSMS) SendSMS(_ context.Context, m OutboundSMS) (string, error) {
	f.sent = append(f.sent, m)
	return "SM00000000000000000000000000000002", nil // the SID of events/furl-twilio-status.json
}

// TestSampleEvents feeds the functions the samples under events/, which
// name one org and one message: the messages queue's job
// (sqs-messages.json) to the worker, then Twilio's status callback for the
// text (furl-twilio-status.json), then SES's bounce of an email
// (eventbridge-ses-bounce.json), the schedule's tick
// (eventbridge-schedule.json) and a matter's status change
// (eventbridge-matter-closed.json) to the notifier.
func TestSampleEvents(t *testing.T) {
	ctx := context.Background()
	var queued events.SQSEvent
	samples.Read(t, "sqs-messages.json", &queued)
	var j job
	if err := json.Unmarshal([]byte(queued.Records[0].Body), &j); err != nil {
		t.Fatal(err)
	}
	db := storetest.DB(t)
	storetest.NewOrg(t, db, storetest.WithID(j.OrgID))
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	svc := &Service{DB: db, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }, NewID: newID,
		SandboxSMS: true, PublicURL: "https://api.matterly.example"}
	sms := &sampleSMS{}
	w := NewWorker(svc, sms, nil)
	message := func() Message {
		t.Helper()
		var m Message
		if err := db.Get(ctx, tenant.PK(j.OrgID), messageSK(j.MessageID), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}

	t.Run("sqs-messages.json: a job for no message is acknowledged", func(t *testing.T) {
		resp, err := w.Handle(ctx, queued)
		if err != nil || len(resp.BatchItemFailures) != 0 || len(sms.sent) != 0 {
			t.Fatalf("resp %+v, err %v, sent %d", resp, err, len(sms.sent))
		}
	})
	t.Run("sqs-messages.json: the queued text is sent once", func(t *testing.T) {
		m := Message{ID: j.MessageID, Channel: SMS, Direction: Outbound, To: "+14155550123", Body: "Your appointment is tomorrow at 10:00.",
			Status: StatusQueued, SentBy: storetest.ID(), CreatedAt: now.Add(-time.Second), UpdatedAt: now.Add(-time.Second)}
		m.setKeys(j.OrgID)
		storetest.Put(t, db, m)
		for range 2 { // the second is SQS delivering the job again
			resp, err := w.Handle(ctx, queued)
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("resp %+v, err %v", resp, err)
			}
		}
		if len(sms.sent) != 1 || sms.sent[0].To != m.To || sms.sent[0].Body != m.Body || !strings.Contains(sms.sent[0].StatusCallback, "msg="+j.MessageID) {
			t.Fatalf("sent %+v", sms.sent)
		}
		if got := message(); got.Status != StatusSent || got.ProviderID == "" {
			t.Fatalf("message %s %q", got.Status, got.ProviderID)
		}
	})
	t.Run("furl-twilio-status.json: delivered", func(t *testing.T) {
		var cb events.LambdaFunctionURLRequest
		samples.Read(t, "furl-twilio-status.json", &cb)
		form, err := url.ParseQuery(cb.Body)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Status(ctx, cb.QueryStringParameters["org"], cb.QueryStringParameters["msg"], form); err != nil {
			t.Fatal(err)
		}
		if got := message(); got.Status != StatusDelivered {
			t.Fatalf("status %s, want delivered", got.Status)
		}
	})
	t.Run("eventbridge-ses-bounce.json: the email is undelivered", func(t *testing.T) {
		var bounce events.EventBridgeEvent
		samples.Read(t, "eventbridge-ses-bounce.json", &bounce)
		m := Message{ID: j.MessageID, Channel: Email, Direction: Outbound, To: "jane@example.com", Subject: "Update", Body: "Hello",
			Status: StatusSent, ProviderID: "010001930000abcd-sample-000000", CreatedAt: now, UpdatedAt: now}
		m.setKeys(j.OrgID)
		storetest.Put(t, db, m)
		now = now.Add(time.Minute)
		if err := svc.HandleEvent(ctx, bounce); err != nil {
			t.Fatal(err)
		}
		if got := message(); got.Status != StatusUndelivered || got.ErrorCode != "bounced" {
			t.Fatalf("message %s %s", got.Status, got.ErrorCode)
		}
	})
	t.Run("eventbridge-schedule.json: the sweep runs", func(t *testing.T) {
		var tick events.EventBridgeEvent
		samples.Read(t, "eventbridge-schedule.json", &tick)
		if tick.DetailType != ScheduleDetailType {
			t.Fatalf("detail-type %q is not the schedule's", tick.DetailType)
		}
		if err := svc.HandleEvent(ctx, tick); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("eventbridge-matter-closed.json: no matter, nothing sent", func(t *testing.T) {
		var closed events.EventBridgeEvent
		samples.Read(t, "eventbridge-matter-closed.json", &closed)
		if err := svc.HandleEvent(ctx, closed); err != nil {
			t.Fatal(err)
		}
		if len(sms.sent) != 1 {
			t.Fatalf("sent %d texts", len(sms.sent))
		}
	})
}
