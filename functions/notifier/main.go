// Command notifier is the Lambda function on EventBridge: the 5-minute
// reminder schedule and the matter status changes that notify clients.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/messagingwire"
)

func main() {
	platform.Main(func() error {
		return platform.StartHandler(func(d *platform.Deps) (any, error) {
			return messagingwire.Messaging(d).HandleEvent, nil
		})
	})
}
