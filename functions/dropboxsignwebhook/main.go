// Command dropboxsignwebhook is the Lambda function (behind its own
// function URL) receiving Dropbox Sign's callbacks: it checks each event's
// hash, applies the event and queues signed-file downloads for
// functions/esignworker.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/esignwire"
)

func main() {
	platform.Main(func() error { return platform.StartHTTP(esignwire.WebhookRouter) })
}
