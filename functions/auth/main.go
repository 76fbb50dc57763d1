// Command auth is the Lambda function serving login, refresh and logout.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/authwire"
)

func main() {
	platform.Main(func() error { return platform.StartHTTP(authwire.Router) })
}
