package messaging

import "context"

// What this package needs of the providers to give an org its own senders.
// Email goes from an address only on a domain the org proved it controls;
// SMS only from numbers and Messaging Services the platform bought or
// created for the org in its own Twilio account. Nothing an org merely
// types in is ever used as a sender: the platform's SES and Twilio
// accounts are shared, and the providers accept any identity in them.

// EmailDomains is SES's domain identities (shared/providers/ses).
// Identities are per AWS account, not per org: two orgs asking for one
// domain see the same DKIM tokens, so SES's verification alone never says
// which org owns the domain (see ownershipRecord).
type EmailDomains interface {
	// CreateDomain creates the domain's identity with Easy DKIM, or reads
	// it back when it exists already.
	CreateDomain(ctx context.Context, domain string) (DomainState, error)
	// DomainState reads the identity; Exists is false when SES has none.
	DomainState(ctx context.Context, domain string) (DomainState, error)
	// DeleteDomain deletes the identity; deleting a missing one is not an error.
	DeleteDomain(ctx context.Context, domain string) error
}

// DomainState is what SES says of one domain identity.
type DomainState struct {
	Exists bool
	// DKIMTokens name the CNAME records to publish:
	// <token>._domainkey.<domain> → <token>.dkim.amazonses.com.
	DKIMTokens []string
	// DKIMStatus is SES's: PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE or NOT_STARTED.
	DKIMStatus         string
	VerifiedForSending bool
}

// TXTResolver looks up DNS TXT records (net.Resolver in AWS; tests use a
// fake, and make dev's sandbox one that answers for every domain).
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Numbers is the platform's Twilio account (shared/providers/twilio).
type Numbers interface {
	// BuyNumber buys an SMS-capable local number (in areaCode when not 0)
	// with its inbound SMS webhook set to smsURL, and returns it in E.164.
	BuyNumber(ctx context.Context, areaCode int, smsURL string) (string, error)
	// CreateMessagingService creates a Messaging Service named name whose
	// inbound texts go to inboundURL, and returns its SID (MG...).
	CreateMessagingService(ctx context.Context, name, inboundURL string) (string, error)
}
