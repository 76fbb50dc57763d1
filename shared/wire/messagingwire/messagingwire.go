// Package messagingwire builds the messaging service, and the twiliowebhook
// function on it (the messaging function, which provisions senders, is
// senderswire's).
package messagingwire

import (
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/platform/awssqs"
)

// Messaging is the messaging service, with make dev's sandboxes where a
// channel has no provider (see senderswire for the providers).
func Messaging(d *platform.Deps) *messaging.Service {
	return messaging.Build(messaging.Setup{Config: d.Config, DB: d.DB, Log: d.Log, Now: d.Now, Queue: awssqs.Sender(d),
		LinkKey: d.Keys.LinkKey, TwilioAccountSID: d.TwilioAccountSID, TwilioAuthToken: d.TwilioAuthToken})
}

// TwilioWebhookRouter builds the twiliowebhook function.
func TwilioWebhookRouter(d *platform.Deps) (*httpapi.Router, error) {
	wh := messaging.Webhook{AuthToken: d.TwilioAuthToken, PublicBaseURL: d.Config.PublicBaseURL, RepliesToKeywords: d.Config.TwilioRepliesToKeywords}
	return messaging.NewWebhookRouter(Messaging(d), wh, d.RouterConfig())
}
