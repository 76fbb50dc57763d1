// Package privacysvcwire builds the privacy service as client erasure
// needs it (the crm function's): without the other capabilities' erasers
// of a workspace, which privacywire adds, so crm links neither chat nor
// the calendar.
package privacysvcwire

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/platform/awss3"
	"github.com/matterly/matterly/shared/privacy"
	"github.com/matterly/matterly/shared/queue"
)

// Service is the privacy service without OrgErasers: exports, client
// erasure, restriction, retention; not a workspace's deletion. q is where
// export and deletion jobs go (awssqs.Sender); nil for a function that
// queues none.
func Service(d *platform.Deps, q queue.Sender) *privacy.Service {
	return privacy.NewService(d.DB, awss3.Client(d), d.Config.BucketName, d.Config.KMSKeyID, q, d.Log, d.Now)
}
