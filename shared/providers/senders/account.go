package senders

import (
	"context"

	"github.com/matterly/matterly/shared/identity"
	"github.com/matterly/matterly/shared/messaging"
)

// AccountMailer is identity's Mailer over the email path messages take:
// Amazon SES from the deployment's sending address (EMAIL_FROM), or box,
// make dev's outbox, when email is sandboxed. With no sending address it
// is nil and identity logs the notices it could not send.
func AccountMailer(d Setup, box messaging.EmailSender) (identity.Mailer, error) {
	if d.Config.EmailFrom == "" && box == nil {
		return nil, nil
	}
	if _, sandboxed := messaging.Sandboxed(d.Config.Local(), "", d.Config.SESEndpoint); sandboxed && box != nil {
		return accountMailer{send: box, from: fromOr(d.Config.EmailFrom)}, nil
	}
	if d.Config.EmailFrom == "" {
		return nil, nil
	}
	_, email, err := Build(context.Background(), d)
	if err != nil || email == nil {
		return nil, err
	}
	return accountMailer{send: email, from: d.Config.EmailFrom}, nil
}

func fromOr(from string) string {
	if from == "" {
		return "notices@matterly.localhost"
	}
	return from
}

type accountMailer struct {
	send messaging.EmailSender
	from string
}

func (m accountMailer) SendAccountEmail(ctx context.Context, to, subject, text string) error {
	_, err := m.send.SendEmail(ctx, messaging.OutboundEmail{To: to, FromName: "Matterly", FromAddress: m.from,
		Subject: subject, Text: text})
	return err
}
