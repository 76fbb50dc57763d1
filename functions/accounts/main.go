// Command accounts is the Lambda function that creates logins: org sign-up
// and new members. It alone links the password strength policy.
package main

import (
	"github.com/matterly/matterly/shared/identity"
	"github.com/matterly/matterly/shared/password/strength"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/providers/senders"
)

func main() {
	platform.Main(func() error {
		return platform.StartHTTP(identity.NewAccountsRouter(strength.Problem, senders.AccountMailer(nil)))
	})
}
