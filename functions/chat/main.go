// Command chat is the Lambda function for team chat's HTTP routes:
// threads, messages, reactions, receipts, attachments, GIF search,
// WebSocket tickets and the compliance reads. It posts real-time frames
// through the WebSocket API's Management API.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/chatwire"
)

func main() {
	platform.Main(func() error { return platform.StartHTTP(chatwire.Router) })
}
