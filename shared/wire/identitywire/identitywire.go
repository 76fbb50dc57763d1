// Package identitywire builds the identity service, and the org function
// on it (auth and accounts have their own packages: they link the KMS
// client and the mailer).
package identitywire

import (
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/identity"
	"github.com/matterly/matterly/shared/platform"
)

// Identity is the identity service; it issues tokens only in the functions
// given the token secret.
func Identity(d *platform.Deps) *identity.Service {
	return identity.NewService(d.DB, d.Tokens, d.Log, d.Now)
}

// OrgRouter builds the org function.
func OrgRouter(d *platform.Deps) (*httpapi.Router, error) {
	return identity.NewOrgRouter(Identity(d), d.RouterConfig())
}
