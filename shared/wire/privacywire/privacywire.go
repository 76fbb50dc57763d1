// Package privacywire builds the privacy service, and the privacy and
// privacyworker functions on it.
package privacywire

import (
	"context"

	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/platform/awssqs"
	"github.com/matterly/matterly/shared/privacy"
	"github.com/matterly/matterly/shared/wire/auditwire"
	"github.com/matterly/matterly/shared/wire/calendarwire"
	"github.com/matterly/matterly/shared/wire/chatwire"
	"github.com/matterly/matterly/shared/wire/identitywire"
	"github.com/matterly/matterly/shared/wire/privacysvcwire"
)

// Privacy is the privacy service: exports, erasure, restriction, retention,
// and a workspace's deletion with chat's and the calendar's erasers.
func Privacy(d *platform.Deps) *privacy.Service {
	s := privacysvcwire.Service(d, awssqs.Sender(d))
	s.AuditAnchors = auditwire.Anchors(d)  // the daily run anchors the chains
	s.Passwords = identitywire.Identity(d) // a workspace's deletion, within the sign-in budget
	s.OrgErasers = []func(context.Context, string) error{
		chatwire.Chat(d).DeleteOrg,
		// Handed to the calendar worker, as in AWS, where this function
		// has neither the Microsoft secret nor the calendar's token key.
		func(ctx context.Context, orgID string) error {
			return calendarwire.Calendar(d).QueueDeleteOrg(ctx, orgID)
		},
	}
	return s
}

// Router builds the privacy function.
func Router(d *platform.Deps) (*httpapi.Router, error) {
	return privacy.NewRouter(Privacy(d), d.RouterConfig())
}
