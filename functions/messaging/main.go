// Command messaging is the Lambda function for SMS and email to clients,
// the consent log and the unsubscribe link; functions/messageworker sends.
package main

import (
	"context"

	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/providers/senders"
)

func main() {
	platform.Main(func() error {
		return platform.StartHTTP(func(d *platform.Deps) (*httpapi.Router, error) {
			svc := messaging.FromDeps(d)
			if err := senders.Provision(context.Background(), d, svc); err != nil {
				return nil, err
			}
			return messaging.NewRouter(d, svc)
		})
	})
}
