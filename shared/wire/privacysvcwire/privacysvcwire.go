// Package privacysvcwire builds the privacy service as client erasure
// needs it (the crm function's): without the other capabilities' erasers
// of a workspace, which privacywire adds, so crm links neither chat nor
// the calendar.
package privacysvcwire

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/platform/awss3"
	"github.com/matterly/matterly/shared/platform/awssqs"
	"github.com/matterly/matterly/shared/privacy"
)

// Service is the privacy service without OrgErasers: exports, client
// erasure, restriction, retention; not a workspace's deletion.
func Service(d *platform.Deps) *privacy.Service {
	return privacy.NewService(d.DB, awss3.Client(d), d.Config.BucketName, d.Config.KMSKeyID, awssqs.Sender(d), d.Log, d.Now)
}
