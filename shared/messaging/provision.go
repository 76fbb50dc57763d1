package messaging

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
)

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
	// with its inbound SMS webhook set to smsURL, and returns it in E.164;
	// ErrNoNumbers (wrapped or not) when none is for sale.
	BuyNumber(ctx context.Context, areaCode int, smsURL string) (string, error)
	// CreateMessagingService creates a Messaging Service named name whose
	// inbound texts go to inboundURL, and returns its SID (MG...).
	CreateMessagingService(ctx context.Context, name, inboundURL string) (string, error)
}

// ErrNoNumbers is Numbers.BuyNumber's answer when no number is for sale.
var ErrNoNumbers = errors.New("no SMS-capable number available")

// SandboxDomains is make dev's SES: every domain verifies at once, with
// made-up DKIM tokens, and nothing leaves the machine.
type SandboxDomains struct{}

var sandboxDKIM = []string{"sandbox1", "sandbox2", "sandbox3"}

// CreateDomain "creates" the identity.
func (SandboxDomains) CreateDomain(context.Context, string) (DomainState, error) {
	return DomainState{Exists: true, DKIMTokens: sandboxDKIM, DKIMStatus: "SUCCESS", VerifiedForSending: true}, nil
}

// DomainState says every domain is verified.
func (SandboxDomains) DomainState(ctx context.Context, d string) (DomainState, error) {
	return SandboxDomains{}.CreateDomain(ctx, d)
}

// DeleteDomain does nothing.
func (SandboxDomains) DeleteDomain(context.Context, string) error { return nil }

// SandboxNumbers is make dev's Twilio account: it "buys" fictional
// numbers (+1 NXX 555-01XX is reserved for fiction) and makes up SIDs.
type SandboxNumbers struct{}

// BuyNumber returns a fictional number in areaCode (555 when 0).
func (SandboxNumbers) BuyNumber(_ context.Context, areaCode int, _ string) (string, error) {
	if areaCode == 0 {
		areaCode = 555
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(100))
	return fmt.Sprintf("+1%03d55501%02d", areaCode, n.Int64()), nil
}

// CreateMessagingService returns a made-up Messaging Service SID.
func (SandboxNumbers) CreateMessagingService(context.Context, string, string) (string, error) {
	return "MG" + randomToken(), nil // 32 hex digits, as Twilio's
}
