// Command payments is the Lambda function for Stripe Connect onboarding and
// invoices.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/paymentswire"
)

func main() {
	platform.Main(func() error {
		return platform.StartHTTP(paymentswire.Router)
	})
}
