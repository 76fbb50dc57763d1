// Package orgwire builds the org function: the identity service with the
// audit chains' keys and anchors, which it verifies.
package orgwire

import (
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/identity"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/auditwire"
	"github.com/matterly/matterly/shared/wire/identitywire"
)

// Router builds the org function.
func Router(d *platform.Deps) (*httpapi.Router, error) {
	svc := identitywire.Identity(d)
	svc.AuditKeys, svc.AuditAnchors = auditwire.Keyring(d), auditwire.Anchors(d)
	return identity.NewOrgRouter(svc, d.RouterConfig())
}
