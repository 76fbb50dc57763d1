// Command org is the Lambda function serving the caller's profile, org settings, and member roles and removal.
package main

import (
	"github.com/matterly/matterly/shared/identity"
	"github.com/matterly/matterly/shared/platform"
)

func main() {
	platform.Main(func() error { return platform.StartHTTP(identity.NewOrgRouter) })
}
