// Package stripewebhookwire builds the stripewebhook function: it checks
// Stripe's signatures and queues the events for stripeworker.
package stripewebhookwire

import (
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/payments"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/platform/awssqs"
)

// Router builds the stripewebhook function.
func Router(d *platform.Deps) (*httpapi.Router, error) {
	return payments.NewWebhookRouter(payments.Webhook{Secret: d.StripeWebhookSecret, Queue: awssqs.Sender(d)}, d.RouterConfig())
}
