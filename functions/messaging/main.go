// Command messaging is the Lambda function for SMS and email to clients,
// the consent log and the unsubscribe link; functions/messageworker sends.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/messagingapiwire"
)

func main() {
	platform.Main(func() error {
		return platform.StartHTTP(messagingapiwire.Router)
	})
}
