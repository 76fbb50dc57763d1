// Command stripewebhook is the Lambda function receiving Stripe's webhooks:
// it checks each signature and queues the event for functions/stripeworker.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/stripewebhookwire"
)

func main() {
	platform.Main(func() error { return platform.StartHTTP(stripewebhookwire.Router) })
}
