// Command messaging is the Lambda function for SMS and email to clients,
// the consent log and the unsubscribe link; functions/messageworker sends.
package main

import (
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/platform"
)

func main() {
	platform.Main(func() error {
		return platform.StartHTTP(func(d *platform.Deps) (*httpapi.Router, error) {
			return messaging.NewRouter(d, messaging.FromDeps(d))
		})
	})
}
