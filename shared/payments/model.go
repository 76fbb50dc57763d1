// Package payments is Stripe Connect for the practice: the org's connected
// account, invoices created in Matterly and mirrored to Stripe on that
// account (where the client pays on Stripe's hosted page: card numbers and
// bank details never touch Matterly), and the payments recorded from
// Stripe's webhooks.
package payments

import (
	"context"
	"time"

	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/store"
)

// UnsetSecret is the Stripe secret's value until the operator sets it.
const UnsetSecret = config.UnsetSecret

// Stripe is what this package needs of Stripe (shared/providers/stripe).
// Every write takes an idempotency key derived from Matterly's ids.
type Stripe interface {
	CreateAccount(ctx context.Context, idem, orgID, email string) (string, error)
	AccountLink(ctx context.Context, accountID, refreshURL, returnURL string) (string, error)
	Account(ctx context.Context, accountID string) (AccountStatus, error)
	CreateCustomer(ctx context.Context, idem, account string, c Customer) (string, error)
	CreateInvoice(ctx context.Context, idem, account, customerID string, inv InvoiceDraft) (StripeInvoice, error)
	AddItem(ctx context.Context, idem, account, customerID, invoiceID, currency, description string, amount int64) error
	Finalize(ctx context.Context, idem, account, invoiceID string) (StripeInvoice, error)
	Send(ctx context.Context, idem, account, invoiceID string) (StripeInvoice, error)
	Void(ctx context.Context, idem, account, invoiceID string) (StripeInvoice, error)
	Charge(ctx context.Context, account, chargeID string) (ChargeInfo, error)
	Refunds(ctx context.Context, account, chargeID string) ([]RefundInfo, error)
}

// RefundInfo is a refund of a charge as Stripe lists it.
type RefundInfo struct {
	ID     string
	Amount int64
	Status string // pending, requires_action, succeeded, failed, canceled
}

// ChargeInfo is what a payment record keeps of a charge.
type ChargeInfo struct {
	Amount, Fee, Net int64
	Method           string // card, us_bank_account, ...
	// MatterlyInvoiceID is the Matterly invoice the charge paid, "" for a
	// charge made outside Matterly.
	MatterlyInvoiceID string
}

// Payment kinds: each Stripe money movement is its own record; history is
// never edited.
const (
	KindPayment = "payment"
	KindRefund  = "refund"
	KindDispute = "dispute"
)

// Payment is a record of money moving through Stripe for an invoice.
type Payment struct {
	store.Keys
	ID          string `dynamodbav:"id" json:"id"`
	Kind        string `dynamodbav:"kind" json:"kind"`
	InvoiceID   string `dynamodbav:"invoiceId,omitempty" json:"invoiceId,omitempty"`
	ClientID    string `dynamodbav:"clientId" json:"clientId"`
	MatterID    string `dynamodbav:"matterId,omitempty" json:"matterId,omitempty"`
	Currency    string `dynamodbav:"currency" json:"currency"`
	Amount      int64  `dynamodbav:"amount" json:"amount"` // negative for refunds and disputes
	Fee         int64  `dynamodbav:"fee" json:"fee"`       // Stripe's fee, always against operating
	Net         int64  `dynamodbav:"net" json:"net"`
	Method      string `dynamodbav:"method,omitempty" json:"method,omitempty"`
	Status      string `dynamodbav:"status" json:"status"`
	Destination string `dynamodbav:"destination" json:"destination"`
	// TrustEntryID is the trust deposit a payment into trust was recorded as.
	TrustEntryID string    `dynamodbav:"trustEntryId,omitempty" json:"trustEntryId,omitempty"`
	StripeID     string    `dynamodbav:"stripeId" json:"stripeId"` // the charge, refund or dispute
	ChargeID     string    `dynamodbav:"chargeId,omitempty" json:"chargeId,omitempty"`
	Date         string    `dynamodbav:"date" json:"date"`
	CreatedAt    time.Time `dynamodbav:"createdAt" json:"createdAt"`
	// RetainUntil is when the record may be deleted (7 years after it was
	// made); see Retention.
	RetainUntil string `dynamodbav:"retainUntil" json:"retainUntil"`
}

// AccountStatus is what Matterly keeps of a connected account.
type AccountStatus struct {
	ChargesEnabled   bool     `dynamodbav:"chargesEnabled" json:"chargesEnabled"`
	PayoutsEnabled   bool     `dynamodbav:"payoutsEnabled" json:"payoutsEnabled"`
	DetailsSubmitted bool     `dynamodbav:"detailsSubmitted" json:"detailsSubmitted"`
	RequirementsDue  []string `dynamodbav:"requirementsDue,omitempty" json:"requirementsDue"`
}

// Customer is a client as a Stripe customer.
type Customer struct{ ClientID, Name, Email string }

// InvoiceDraft is what Stripe's invoice is created with.
type InvoiceDraft struct {
	Currency string
	DueAt    time.Time
	Metadata map[string]string
}

// StripeInvoice is Stripe's side of an invoice.
type StripeInvoice struct{ ID, Status, HostedURL, Number string }

// ConnectedAccount is the org's Stripe connected account.
type ConnectedAccount struct {
	store.Keys
	StripeAccountID string `dynamodbav:"stripeAccountId" json:"stripeAccountId"`
	Status          string `dynamodbav:"-" json:"status"` // not_connected, onboarding, restricted, enabled
	AccountStatus
	CreatedAt time.Time `dynamodbav:"createdAt" json:"createdAt"`
	UpdatedAt time.Time `dynamodbav:"updatedAt" json:"updatedAt"`
}

// status summarises an account for the app.
func (a *ConnectedAccount) status() {
	if a.RequirementsDue == nil {
		a.RequirementsDue = []string{}
	}
	switch {
	case a.StripeAccountID == "":
		a.Status = "not_connected"
	case a.ChargesEnabled && a.PayoutsEnabled:
		a.Status = "enabled"
	case a.DetailsSubmitted:
		a.Status = "restricted"
	default:
		a.Status = "onboarding"
	}
}

// LineItem is one line of an invoice, in minor units.
type LineItem struct {
	Description string `dynamodbav:"description" json:"description"`
	Quantity    int64  `dynamodbav:"quantity" json:"quantity"`
	UnitAmount  int64  `dynamodbav:"unitAmount" json:"unitAmount"`
}

// Invoice statuses, as Stripe has them.
const (
	Draft         = "draft"
	Open          = "open"
	Paid          = "paid"
	Void          = "void"
	Uncollectible = "uncollectible"
)

// Destinations of an invoice's money (ABA Model Rule 1.15): fees earned go
// to the operating account; a retainer or other client funds to trust.
const (
	ToOperating = "operating"
	ToTrust     = "trust"
)

// Invoice is an invoice of a client (and matter), mirrored to Stripe.
type Invoice struct {
	store.Keys
	ID               string     `dynamodbav:"id" json:"id"`
	ClientID         string     `dynamodbav:"clientId" json:"clientId"`
	MatterID         string     `dynamodbav:"matterId,omitempty" json:"matterId,omitempty"`
	Currency         string     `dynamodbav:"currency" json:"currency"`
	DueDate          string     `dynamodbav:"dueDate" json:"dueDate"`
	LineItems        []LineItem `dynamodbav:"lineItems" json:"lineItems"`
	Total            int64      `dynamodbav:"total" json:"total"`
	Destination      string     `dynamodbav:"destination" json:"destination"`
	TrustAccountID   string     `dynamodbav:"trustAccountId,omitempty" json:"trustAccountId,omitempty"`
	Status           string     `dynamodbav:"status" json:"status"`
	StripeInvoiceID  string     `dynamodbav:"stripeInvoiceId,omitempty" json:"stripeInvoiceId,omitempty"`
	StripeCustomerID string     `dynamodbav:"stripeCustomerId,omitempty" json:"-"`
	// LinesMirrored counts the lines already on Stripe's invoice, saved
	// line by line, so a resumed mirror never adds one twice.
	LinesMirrored int    `dynamodbav:"linesMirrored" json:"-"`
	HostedURL     string `dynamodbav:"hostedUrl,omitempty" json:"hostedUrl,omitempty"`
	Number        string `dynamodbav:"number,omitempty" json:"number,omitempty"`
	// SyncError says why the invoice is not (fully) on Stripe yet; sending
	// it tries again.
	SyncError string    `dynamodbav:"syncError,omitempty" json:"syncError,omitempty"`
	CreatedBy string    `dynamodbav:"createdBy" json:"createdBy"`
	CreatedAt time.Time `dynamodbav:"createdAt" json:"createdAt"`
	UpdatedAt time.Time `dynamodbav:"updatedAt" json:"updatedAt"`
	// RetainUntil is when the record may be deleted (see RetainUntil).
	RetainUntil string `dynamodbav:"retainUntil" json:"retainUntil"`
}
