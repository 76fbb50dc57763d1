// Command calendarworker is the Lambda function on the calendar-sync queue
// (delta syncs, subscriptions, booking write-backs; booking events arrive
// there from EventBridge) and on the two calendar schedules (subscription
// renewals, the 15-minute safety-net sync). See calendar.Worker.
package main

import (
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/calendarwire"
)

func main() {
	platform.Main(func() error {
		return platform.StartHandler(func(d *platform.Deps) (any, error) {
			return calendarwire.Worker(d).Invoke, nil
		}, config.Table)
	})
}
