// Package relay publishes Matterly's domain events and keeps the audit log,
// both from the table's DynamoDB stream. A change writes its activity entry
// in its own transaction, and may announce an event on it; the relay (a
// Lambda function on the stream, NEW_IMAGE, filtered to new activity
// entries) appends each entry to the org's audit chain (package audit) and
// publishes the event to the event bus. So an audit entry is made and an
// event goes out if and only if its change committed, however the writing
// function ends, and no request pays a DynamoDB call for either.
//
// Delivery is at least once: a record whose append or publish fails is
// reported to Lambda (ReportBatchItemFailures) and sent again with
// everything after it. The audit append is keyed by the entry's id, so a
// redelivery appends nothing; subscribers deduplicate on the event's id.
package relay

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/audit"
	"github.com/matterly/matterly/shared/bus"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Event is the detail of every domain event: ids only, never personal
// content; subscribers read what they need from the table.
type Event struct {
	ID         string    `json:"id"` // the activity entry's id, the same on every delivery
	OrgID      string    `json:"orgId"`
	ActorID    string    `json:"actorId"`
	EntityType string    `json:"entityType"` // client, matter, booking, document, ...
	EntityID   string    `json:"entityId"`
	ClientID   string    `json:"clientId,omitempty"`
	MatterID   string    `json:"matterId,omitempty"`
	BookingID  string    `json:"bookingId,omitempty"`
	DocumentID string    `json:"documentId,omitempty"`
	At         time.Time `json:"at"`
}

// Handler is the relay function.
type Handler struct {
	Bus bus.Publisher
	Log *slog.Logger
	// DB is the table, where the audit chains are kept. The relay function
	// always has it (TABLE_NAME is required); nil, as in tests of other
	// packages that only want their events, keeps no audit log.
	DB *store.DB
	// Keys makes and opens the orgs' audit chain keys (the audit KMS key's
	// sealer); required with DB.
	Keys *audit.Keyring
}

// Handle publishes the events of a batch of stream records in order. At
// the first failure it reports that record and stops: Lambda sends the
// batch again from there, so later events are not published twice now.
func (h Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	for _, rec := range ev.Records {
		if err := h.audit(ctx, rec); err != nil {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
			return resp, nil
		}
		detailType, detail, ok := announcement(rec)
		if !ok {
			continue
		}
		if err := h.Bus.Publish(ctx, detailType, detail); err != nil {
			h.Log.Error("event not published; the stream will send it again", "detailType", detailType, "eventId", detail.ID,
				"orgId", detail.OrgID, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
			return resp, nil
		}
	}
	return resp, nil
}

// audit appends a new activity entry to its org's audit chain; a
// redelivered one is already there and appends nothing.
func (h Handler) audit(ctx context.Context, rec events.DynamoDBEventRecord) error {
	if rec.EventName != "INSERT" || h.DB == nil {
		return nil
	}
	orgID, e, ok := audit.FromImage(rec.Change.NewImage)
	if !ok {
		return nil
	}
	if _, err := (audit.Chain{DB: h.DB, Keys: h.Keys}).Append(ctx, orgID, e); err != nil {
		h.Log.Error("audit entry not appended; the stream will send it again", "entryId", e.ID, "orgId", orgID, "err", err)
		return err
	}
	return nil
}

// Wanted reports whether the relay takes a stream record of an item with
// image img: new activity entries. It is the filter of the function's event
// source mapping (infra relayFilter), for the dev stack's stream to apply
// alike.
func Wanted(img map[string]events.DynamoDBAttributeValue) bool {
	v, ok := img["type"]
	return ok && v.DataType() == events.DataTypeString && v.String() == "activity"
}

// announcement reads the event a new activity entry announces. Records of
// other items (the mapping's filter lets none through in AWS) are skipped.
func announcement(rec events.DynamoDBEventRecord) (string, Event, bool) {
	img := rec.Change.NewImage
	str := func(name string) string {
		if v, ok := img[name]; ok && v.DataType() == events.DataTypeString {
			return v.String()
		}
		return ""
	}
	detailType := str("event")
	if rec.EventName != "INSERT" || str("type") != "activity" || detailType == "" {
		return "", Event{}, false
	}
	e := Event{
		ID: str("id"), OrgID: tenant.OrgOf(str("PK")), ActorID: str("actorId"),
		EntityType: str("entityType"), EntityID: str("entityId"), ClientID: str("clientId"), MatterID: str("matterId"),
	}
	e.At, _ = time.Parse(time.RFC3339Nano, str("at"))
	switch e.EntityType {
	case "booking":
		e.BookingID = e.EntityID
	case "document":
		e.DocumentID = e.EntityID
	}
	return detailType, e, true
}
