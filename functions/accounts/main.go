// Command accounts is the Lambda function that creates logins: org sign-up
// and new members. It alone links the password strength policy.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/accountswire"
)

func main() {
	platform.Main(func() error {
		return platform.StartHTTP(accountswire.Router(nil))
	})
}
