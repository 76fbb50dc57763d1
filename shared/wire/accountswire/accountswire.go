// Package accountswire builds the accounts function.
package accountswire

import (
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/identity"
	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/password/strength"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/providers/senders"
	"github.com/matterly/matterly/shared/wire/identitywire"
	"github.com/matterly/matterly/shared/wire/senderswire"
)

// Router returns the builder of the accounts function: the password
// policy, and sign-up notices sent as messages are (box is make dev's
// outbox for sandboxed email; nil in AWS).
func Router(box messaging.EmailSender) platform.RouterFunc {
	return func(d *platform.Deps) (*httpapi.Router, error) {
		svc := identitywire.Identity(d)
		svc.Strength = strength.Problem
		m, err := senders.AccountMailer(senderswire.Setup(d), box)
		if err != nil {
			return nil, err
		}
		svc.Mailer = m
		svc.AppBaseURL = d.Config.AppBaseURL
		return identity.NewAccountsRouter(svc, d.RouterConfig())
	}
}
