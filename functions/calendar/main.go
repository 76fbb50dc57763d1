// Command calendar is the Lambda function for Microsoft 365 calendar sync:
// connect (and the OAuth callback), calendars chosen, events, availability
// and working hours.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/calendarwire"
)

func main() {
	platform.Main(func() error { return platform.StartHTTP(calendarwire.Router) })
}
