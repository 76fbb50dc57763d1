package payments

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	samples "github.com/matterly/matterly/events"

	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/store/storetest"
	"github.com/matterly/matterly/shared/tenant"
	"github.com/matterly/matterly/shared/trust"
)

// noStripe fails the test on any call: the cases below must be settled
// from the table alone.
type noStripe struct {
	Stripe
	t *testing.T
}

func (n noStripe) Charge(context.Context, string, string) (ChargeInfo, error) {
	n.t.Fatal("Stripe was called")
	return ChargeInfo{}, nil
}

// TestWorkerOnQueueSample gives the stripe worker the queue message of
// events/sqs-stripe-events.json (an account.updated event, as the webhook
// queues it): for an account no org connected, an old event is
// acknowledged; for a connected one, an event applied before is a
// redelivery and acknowledged without asking Stripe; an unreadable body is
// reported for SQS to deliver again (then to the DLQ).
func TestWorkerOnQueueSample(t *testing.T) {
	var batch events.SQSEvent
	samples.Read(t, "sqs-stripe-events.json", &batch)
	var ev struct {
		ID, Account string
	}
	if err := json.Unmarshal([]byte(batch.Records[0].Body), &ev); err != nil || ev.ID != *batch.Records[0].MessageAttributes["eventId"].StringValue {
		t.Fatalf("the sample's body and eventId attribute disagree: %v", err)
	}
	ctx := context.Background()
	db := storetest.DB(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := NewWorker(NewService(db, log, time.Now, noStripe{t: t}, ""), trust.NewService(db, log, time.Now))

	resp, err := w.Handle(ctx, batch)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("old event of an unconnected account: %+v %v", resp, err)
	}

	org := storetest.NewOrg(t, db)
	storetest.Put(t, db, struct {
		store.Keys
		OrgID string `dynamodbav:"orgId"`
	}{store.Keys{PK: mapPK(ev.Account), SK: mapSK}, org.ID})
	storetest.Put(t, db, store.Keys{PK: tenant.PK(org.ID), SK: "PAY#EVT#" + ev.ID, Type: "stripeEvent"})
	resp, err = w.Handle(ctx, batch)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %+v %v", resp, err)
	}

	bad := batch.Records[0]
	bad.MessageId, bad.Body = "bad-1", "{not json"
	resp, err = w.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{bad}})
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "bad-1" {
		t.Fatalf("unreadable: %+v %v", resp, err)
	}
}
