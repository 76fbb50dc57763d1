// Command org is the Lambda function serving the caller's profile, org settings, and member roles and removal.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/orgwire"
)

func main() {
	platform.Main(func() error { return platform.StartHTTP(orgwire.Router) })
}
