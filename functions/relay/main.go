// Command relay is the Lambda function on the table's DynamoDB stream that
// appends every new activity entry to its org's audit chain and publishes
// the domain events changes announce (see package relay). It needs the
// event bus and the table (the audit items only), no secrets.
package main

import (
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/platform/awseventbridge"
	"github.com/matterly/matterly/shared/relay"
)

func main() {
	platform.Main(func() error {
		return platform.StartHandler(func(d *platform.Deps) (any, error) {
			h := relay.Handler{Bus: awseventbridge.Publisher(d), Log: d.Log, DB: d.DB}
			return h.Handle, nil
		}, config.Table, config.Events)
	})
}
