// Package messagingapiwire builds the messaging function: the messaging
// service's API, which provisions orgs' senders with the providers.
package messagingapiwire

import (
	"context"

	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/providers/senders"
	"github.com/matterly/matterly/shared/wire/messagingwire"
	"github.com/matterly/matterly/shared/wire/senderswire"
)

// Router builds the messaging function, with the platform's Twilio
// account and SES to provision orgs' senders.
func Router(d *platform.Deps) (*httpapi.Router, error) {
	svc := messagingwire.Messaging(d)
	if err := senders.Provision(context.Background(), senderswire.Setup(d), svc); err != nil {
		return nil, err
	}
	return messaging.NewRouter(svc, d.RouterConfig())
}
