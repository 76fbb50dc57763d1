// Command stripeworker is the Lambda function on the stripe-events queue:
// it applies each verified Stripe event exactly once (see payments.Worker).
// It needs only the table and the Stripe key: no signing secrets, no tokens.
package main

import (
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/paymentswire"
)

func main() {
	platform.Main(func() error {
		return platform.StartHandler(func(d *platform.Deps) (any, error) {
			return paymentswire.Worker(d).Handle, nil
		}, config.Table)
	})
}
