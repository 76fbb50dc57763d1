package identity

import "context"

// Mailer sends the platform's own emails to account holders (not an org's
// messages to its clients, which go through messaging). Identity cannot
// import messaging, which imports it; the wiring fills this in: Amazon SES
// in AWS, make dev's outbox when email is sandboxed.
type Mailer interface {
	SendAccountEmail(ctx context.Context, to, subject, text string) error
}

// signupNotice is what the owner of an address hears when someone tries to
// sign up with it. It holds nothing the person signing up typed (their
// name, org or username could be a phishing message).
const (
	signupNoticeSubject = "Someone tried to sign up to Matterly with your email address"
	signupNoticeText    = "Someone just tried to create a new Matterly account with this email address, " +
		"which already belongs to a Matterly account. No new account was created and nothing about your " +
		"account changed.\n\nIf it was you, log in with your existing account instead. If it was not, you " +
		"can ignore this email.\n"
)

// noticeSignupAttempt tells the owner of a registered address that a
// sign-up tried to use it. The sign-up's answer does not depend on it: a
// failed or missing mailer is logged, never returned.
func (s *Service) noticeSignupAttempt(ctx context.Context, email string) {
	if s.Mailer == nil {
		s.Log.Warn("security event", "event", "signup_email_taken", "notice", "no mailer configured")
		return
	}
	if err := s.Mailer.SendAccountEmail(ctx, email, signupNoticeSubject, signupNoticeText); err != nil {
		s.Log.Error("security event", "event", "signup_email_taken", "notice", "not sent", "err", err)
		return
	}
	s.Log.Info("security event", "event", "signup_email_taken", "notice", "sent")
}
