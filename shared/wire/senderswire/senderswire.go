// Package senderswire builds what the message providers (Twilio, SES) are
// built from, and the messaging function, which provisions orgs' senders
// with them.
package senderswire

import (
	"context"

	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/providers/senders"
	"github.com/matterly/matterly/shared/wire/messagingwire"
)

// Setup is what the message providers are built from.
func Setup(d *platform.Deps) senders.Setup {
	return senders.Setup{Config: d.Config, TwilioAccountSID: d.TwilioAccountSID, TwilioAuthToken: d.TwilioAuthToken}
}

// MessagingRouter builds the messaging function, with the platform's
// Twilio account and SES to provision orgs' senders.
func MessagingRouter(d *platform.Deps) (*httpapi.Router, error) {
	svc := messagingwire.Messaging(d)
	if err := senders.Provision(context.Background(), Setup(d), svc); err != nil {
		return nil, err
	}
	return messaging.NewRouter(svc, d.RouterConfig())
}
