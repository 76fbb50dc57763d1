// Package senderswire builds what the message providers (Twilio, SES) are
// built from: the accounts function's mailer, the message worker's
// senders, the messaging function's provisioning (messagingapiwire).
package senderswire

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/providers/senders"
)

// Setup is what the message providers are built from.
func Setup(d *platform.Deps) senders.Setup {
	return senders.Setup{Config: d.Config, TwilioAccountSID: d.TwilioAccountSID, TwilioAuthToken: d.TwilioAuthToken}
}
