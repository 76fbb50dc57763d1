// Package bus publishes Matterly's domain events (client.created,
// matter.closed, document.ready, ...) to the EventBridge bus, where other
// capabilities subscribe. The relay function publishes them from the
// table's stream (see package relay); locally the dev server delivers them
// in-process.
package bus

import (
	"context"
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
