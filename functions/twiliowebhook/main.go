// Command twiliowebhook is the Lambda function (on its own function URL)
// receiving Twilio's inbound SMS and delivery statuses.
package main

import (
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/platform"
)

func main() {
	platform.Main(func() error {
		return platform.StartHTTP(func(d *platform.Deps) (*httpapi.Router, error) {
			return messaging.NewWebhookRouter(d, messaging.FromDeps(d))
		})
	})
}
