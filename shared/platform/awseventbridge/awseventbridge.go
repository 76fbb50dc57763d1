// Package awseventbridge is the bus.Publisher of the relay in AWS: the
// EventBridge bus EVENT_BUS_NAME names. It is its own package so that only
// the relay links the EventBridge client.
package awseventbridge

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/matterly/matterly/shared/bus"
	"github.com/matterly/matterly/shared/platform"
)

// Publisher is the function's event publisher: Deps' own when it has one
// (make dev's bus, or the local stand-in that logs), EventBridge in AWS
// when EVENT_BUS_NAME is set (built once per Deps), nil otherwise.
func Publisher(d *platform.Deps) bus.Publisher {
	if d.Bus != nil {
		return d.Bus
	}
	return platform.InAWS(d, "awseventbridge", d.Config.EventBusName != "", func() bus.Publisher {
		return &EventBridge{API: eventbridge.NewFromConfig(d.AWS), BusName: d.Config.EventBusName}
	})
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
	src, dt, body := bus.Source, detailType, string(b)
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
