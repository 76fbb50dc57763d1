// Command twiliowebhook is the Lambda function (on its own function URL)
// receiving Twilio's inbound SMS and delivery statuses.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/messagingwire"
)

func main() {
	platform.Main(func() error {
		return platform.StartHTTP(messagingwire.TwilioWebhookRouter)
	})
}
