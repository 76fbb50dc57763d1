// Package paymentswire builds the payments service, and the payments and
// stripeworker functions on it (stripewebhook, which only checks and
// queues, is stripewebhookwire's).
package paymentswire

import (
	"github.com/matterly/matterly/shared/credits"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/payments"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/providers/stripe"
	"github.com/matterly/matterly/shared/trust"
)

// Stripe is the platform's Stripe client, nil when its key is not set.
func Stripe(d *platform.Deps) payments.Stripe {
	return stripe.Configured(d.StripeKey, d.Config.StripeAPIBaseURL)
}

// Payments is the payments service over the configured Stripe client.
func Payments(d *platform.Deps) *payments.Service {
	return payments.NewService(d.DB, d.Log, d.Now, Stripe(d), payments.AppURL(d.Config.CORSOrigins))
}

// Router builds the payments function: payments and AI credits.
func Router(d *platform.Deps) (*httpapi.Router, error) {
	return payments.NewRouter(Payments(d), credits.NewService(d.DB, d.Log, d.Now), d.RouterConfig())
}

// Worker builds the worker of payments.EventsQueue.
func Worker(d *platform.Deps) *payments.Worker {
	return payments.NewWorker(payments.NewService(d.DB, d.Log, d.Now, Stripe(d), ""), trust.NewService(d.DB, d.Log, d.Now))
}
