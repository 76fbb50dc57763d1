// Command msgraphwebhook is the Lambda function (behind its own function
// URL) receiving Microsoft Graph's change and lifecycle notifications: the
// validation handshake, the clientState check, and one deduplicated sync
// job per calendar queued for functions/calendarworker.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/calendarwire"
)

func main() {
	platform.Main(func() error { return platform.StartHTTP(calendarwire.WebhookRouter) })
}
