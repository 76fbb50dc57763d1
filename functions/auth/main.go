// Command auth is the Lambda function serving login, refresh and logout.
package main

import (
	"github.com/matterly/matterly/shared/identity"
	"github.com/matterly/matterly/shared/platform"
)

func main() {
	platform.Main(func() error { return platform.StartHTTP(identity.NewAuthRouter) })
}
