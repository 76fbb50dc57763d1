// Package identitywire builds the identity service, which the org, auth
// and accounts functions build on (each in its own package: they link
// different clients).
package identitywire

import (
	"github.com/matterly/matterly/shared/identity"
	"github.com/matterly/matterly/shared/platform"
)

// Identity is the identity service; it issues tokens only in the functions
// given the token secret.
func Identity(d *platform.Deps) *identity.Service {
	svc := identity.NewService(d.DB, d.Tokens, d.Log, d.Now)
	if d.PasswordParams != nil {
		svc.Password = *d.PasswordParams
	}
	return svc
}
