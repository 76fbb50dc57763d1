// Command messageworker is the Lambda function on the messages queue: it
// hands each queued SMS or email to Twilio or SES at most once.
package main

import (
	"context"

	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/providers/senders"
	"github.com/matterly/matterly/shared/wire/messagingwire"
	"github.com/matterly/matterly/shared/wire/senderswire"
)

func main() {
	platform.Main(func() error {
		return platform.StartHandler(func(d *platform.Deps) (any, error) {
			sms, email, err := senders.Build(context.Background(), senderswire.Setup(d))
			if err != nil {
				return nil, err
			}
			return messaging.NewWorker(messagingwire.Messaging(d), sms, email).Handle, nil
		})
	})
}
