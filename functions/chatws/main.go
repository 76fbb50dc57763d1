// Command chatws is the Lambda function of team chat's WebSocket API:
// $connect redeems a ticket, $disconnect forgets the connection, and the
// client frames (typing, read; $default for anything else) are handled
// and fanned out through the Management API.
package main

import (
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/chatwire"
)

func main() {
	platform.Main(func() error {
		return platform.StartHandler(func(d *platform.Deps) (any, error) {
			return chatwire.WSHandler(d).Handle, nil
		}, config.Table)
	})
}
