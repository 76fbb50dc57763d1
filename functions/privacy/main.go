// Command privacy is the Lambda function of the data subject's rights:
// workspace and client exports, restriction of a client's processing and
// the retention policy.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/privacywire"
)

func main() {
	platform.Main(func() error { return platform.StartHTTP(privacywire.Router) })
}
