package messaging

import "context"

// SMSSender is what this package needs of an SMS provider
// (shared/providers/twilio): one message out, the provider's message id back.
//
// An error that has a method Permanent() bool returning true (an invalid or
// unsubscribed number, for example) is final: the message is marked failed
// and never retried. Any other error (429, 5xx, a timeout) is retried later;
// one with RetryAfter() time.Duration says how long to wait.
type SMSSender interface {
	SendSMS(ctx context.Context, m OutboundSMS) (providerID string, err error)
}

// OutboundSMS is one text message as the provider receives it.
type OutboundSMS struct {
	To string // E.164
	// From is the org's number; MessagingServiceSID, when set, is used
	// instead (Twilio picks the sender from the service's pool).
	From                string
	MessagingServiceSID string
	Body                string // already prefixed with the org's sender name
	StatusCallback      string // where the provider posts delivery statuses
}

// EmailSender is what this package needs of an email provider
// (shared/providers/ses). Errors follow SMSSender's rules.
type EmailSender interface {
	SendEmail(ctx context.Context, m OutboundEmail) (providerID string, err error)
}

// OutboundEmail is one plain-text email.
type OutboundEmail struct {
	To          string
	FromName    string // the org's name, shown as the sender
	FromAddress string // the verified sending address
	// ReplyTo, when set, is where replies go: the firm's own address when
	// the email goes from the platform's.
	ReplyTo string
	Subject string
	Text    string
	// UnsubscribeURL, when set, goes out as List-Unsubscribe (with
	// List-Unsubscribe-Post: List-Unsubscribe=One-Click, RFC 8058).
	UnsubscribeURL string
	// Tags ride with the email and come back on its bounce and complaint
	// events (SES message tags: letters, digits, '_' and '-').
	Tags map[string]string
}
