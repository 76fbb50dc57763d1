// Command payments is the Lambda function for Stripe Connect onboarding and
// invoices.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire"
)

func main() {
	platform.Main(func() error {
		return platform.StartHTTP(wire.PaymentsRouter)
	})
}
