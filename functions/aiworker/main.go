// Command aiworker is the Lambda function on the summaries queue: it
// summarizes documents too long to answer within the request.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/summarieswire"
)

func main() {
	platform.Main(func() error {
		return platform.StartHandler(func(d *platform.Deps) (any, error) {
			return summarieswire.Summaries(d).Handle, nil
		})
	})
}
