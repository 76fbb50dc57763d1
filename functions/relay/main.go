// Command relay is the Lambda function on the table's DynamoDB stream that
// publishes the domain events changes announce (see package relay). It
// needs only the event bus: no table access, no secrets.
package main

import (
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/relay"
)

func main() {
	platform.Main(func() error {
		return platform.StartHandler(func(d *platform.Deps) (any, error) {
			h := relay.Handler{Bus: d.Bus, Log: d.Log}
			return h.Handle, nil
		}, config.Events)
	})
}
