// Package relay publishes Matterly's domain events from the table's
// DynamoDB stream. A change announces an event by writing it on its
// activity entry, in the change's own transaction; the relay (a Lambda
// function on the stream, NEW_IMAGE, filtered to new items with an event)
// publishes each one to the event bus. So an event goes out if and only if
// its change committed, however the writing function ends.
//
// Delivery is at least once: a record whose publish fails is reported to
// Lambda (ReportBatchItemFailures) and sent again with everything after it.
// Subscribers deduplicate on the event's id.
package relay

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/bus"
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
}

// Handle publishes the events of a batch of stream records in order. At
// the first failure it reports that record and stops: Lambda sends the
// batch again from there, so later events are not published twice now.
func (h Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	for _, rec := range ev.Records {
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
