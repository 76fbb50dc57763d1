// Package crmwire builds the crm function.
package crmwire

import (
	"context"

	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/privacysvcwire"
)

// Router builds the crm function. A client's erasure is the privacy
// service's, which erases no workspace (so needs none of the other
// capabilities' erasers) and queues no job (crm has no queue in AWS).
func Router(d *platform.Deps) (*httpapi.Router, error) {
	svc := crm.NewService(d.DB, d.Log, d.Now)
	svc.Erase = func(ctx context.Context, a caller.Caller, clientID string) (any, error) {
		return privacysvcwire.Service(d, nil).EraseClient(ctx, a, clientID)
	}
	return crm.NewRouter(svc, d.RouterConfig())
}
