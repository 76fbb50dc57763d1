// Package trustwire builds the trust function.
package trustwire

import (
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/trust"
)

// Router builds the trust function.
func Router(d *platform.Deps) (*httpapi.Router, error) {
	return trust.NewRouter(trust.NewService(d.DB, d.Log, d.Now), d.RouterConfig())
}
