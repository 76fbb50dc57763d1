package summaries

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	samples "github.com/matterly/matterly/events"

	"github.com/matterly/matterly/shared/store/storetest"
)

// TestWorkerOnQueueSample gives the summaries worker (functions/aiworker)
// the job of events/sqs-summaries.json: a summary deleted since it was
// queued, or one already finished (a redelivery), is acknowledged without
// touching the model; an unreadable job is dropped, never retried forever.
func TestWorkerOnQueueSample(t *testing.T) {
	var batch events.SQSEvent
	samples.Read(t, "sqs-summaries.json", &batch)
	var j job
	if err := json.Unmarshal([]byte(batch.Records[0].Body), &j); err != nil || j.OrgID == "" || j.SummaryID == "" {
		t.Fatalf("the sample's body is not a job: %v", err)
	}
	db := storetest.DB(t)
	storetest.NewOrg(t, db, storetest.WithID(j.OrgID))
	// No model: the cases below must never reach it.
	s := New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now, nil, nil, nil)
	ctx := context.Background()

	resp, err := s.Handle(ctx, batch)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("deleted summary: %+v %v", resp, err)
	}
	done := Summary{ID: j.SummaryID, DocumentID: storetest.ID(), MatterID: storetest.ID(), Status: Ready, Summary: "Done.", CreatedAt: time.Now().UTC()}
	done.setKeys(j.OrgID)
	storetest.Put(t, db, done)
	resp, err = s.Handle(ctx, batch)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("finished summary: %+v %v", resp, err)
	}
	bad := batch.Records[0]
	bad.Body = `{"orgId":""}`
	resp, err = s.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{bad}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("unreadable job: %+v %v", resp, err)
	}
}
