// Command crm is the Lambda function serving clients, matters, notes, bookings and the activity log.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/crmwire"
)

func main() {
	platform.Main(func() error { return platform.StartHTTP(crmwire.Router) })
}
