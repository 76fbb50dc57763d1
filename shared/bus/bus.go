// Package bus publishes Matterly's domain events (client.created,
// matter.closed, document.ready, ...) to the EventBridge bus, where other
// capabilities subscribe. The relay function publishes them from the
// table's stream (see package relay); locally the dev server delivers them
// in-process.
package bus

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// Source is the EventBridge source of every Matterly event.
const Source = "matterly"

// Publisher publishes one domain event. detail must marshal to a JSON
// object; events carry ids and no personal content: subscribers read what
// they need from the table.
type Publisher interface {
	Publish(ctx context.Context, detailType string, detail any) error
}

// PublisherFunc adapts a function to Publisher.
type PublisherFunc func(ctx context.Context, detailType string, detail any) error

// Publish calls f.
func (f PublisherFunc) Publish(ctx context.Context, detailType string, detail any) error {
	return f(ctx, detailType, detail)
}

// PutEventsAPI is the part of the EventBridge client the publisher uses.
type PutEventsAPI interface {
	PutEvents(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// EventBridge publishes to one event bus.
type EventBridge struct {
	API     PutEventsAPI
	BusName string
}

// Publish sends one event. PutEvents can accept the call yet fail the entry,
// so the entry's own result is checked too.
func (e *EventBridge) Publish(ctx context.Context, detailType string, detail any) error {
	b, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("event %s: %w", detailType, err)
	}
	src, dt, body := Source, detailType, string(b)
	out, err := e.API.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: &src, DetailType: &dt, Detail: &body, EventBusName: &e.BusName,
	}}})
	if err != nil {
		return fmt.Errorf("put event %s: %w", detailType, err)
	}
	if out.FailedEntryCount > 0 && len(out.Entries) > 0 && out.Entries[0].ErrorCode != nil {
		return fmt.Errorf("put event %s: %s", detailType, *out.Entries[0].ErrorCode)
	}
	return nil
}
