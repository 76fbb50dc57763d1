// Package authwire builds the auth function.
package authwire

import (
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/identity"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/platform/awskms"
	"github.com/matterly/matterly/shared/wire/identitywire"
)

// Router builds the auth function.
func Router(d *platform.Deps) (*httpapi.Router, error) {
	svc := identitywire.Identity(d)
	svc.Sealer = awskms.Sealer(d) // TOTP secrets, sealed at rest
	return identity.NewAuthRouter(svc, d.RouterConfig())
}
