// Command payments is the Lambda function for Stripe Connect onboarding and
// invoices.
package main

import (
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/payments"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/providers/stripe"
)

func main() {
	platform.Main(func() error {
		return platform.StartHTTP(func(d *platform.Deps) (*httpapi.Router, error) {
			return payments.NewRouter(d, stripe.FromDeps(d))
		})
	})
}
