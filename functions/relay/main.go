// Command relay is the Lambda function on the table's DynamoDB stream that
// appends every new activity entry to its org's audit chain and publishes
// the domain events changes announce (see package relay). It needs the
// event bus, the table (the audit items only) and the audit KMS key
// (AUDIT_KEY_ID), which seals the orgs' chain keys; no secrets.
package main

import (
	"errors"

	"github.com/matterly/matterly/shared/audit"
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/platform/awseventbridge"
	"github.com/matterly/matterly/shared/platform/awskms"
	"github.com/matterly/matterly/shared/relay"
)

// errNoAuditKey stops a relay deployed without the audit key: it would
// append nothing the verify could trust.
var errNoAuditKey = errors.New("the relay keys the audit chains: AUDIT_KEY_ID is required")

func main() {
	platform.Main(func() error {
		return platform.StartHandler(func(d *platform.Deps) (any, error) {
			sealer := awskms.AuditSealer(d)
			if sealer == nil {
				return nil, errNoAuditKey
			}
			h := relay.Handler{Bus: awseventbridge.Publisher(d), Log: d.Log, DB: d.DB, Keys: audit.NewKeyring(sealer)}
			return h.Handle, nil
		}, config.Table, config.Events)
	})
}
