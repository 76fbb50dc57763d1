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
	"github.com/matterly/matterly/shared/tenant"
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

// Payment is a record of money moving through Stripe for an invoice, as
// the API shows it; paymentRow stores it.
type Payment struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	InvoiceID   string `json:"invoiceId,omitempty"`
	ClientID    string `json:"clientId"`
	MatterID    string `json:"matterId,omitempty"`
	Currency    string `json:"currency"`
	Amount      int64  `json:"amount"` // negative for refunds and disputes
	Fee         int64  `json:"fee"`    // Stripe's fee, always against operating
	Net         int64  `json:"net"`
	Method      string `json:"method,omitempty"`
	Status      string `json:"status"`
	Destination string `json:"destination"`
	// TrustEntryID is the trust deposit a payment into trust was recorded as.
	TrustEntryID string    `json:"trustEntryId,omitempty"`
	StripeID     string    `json:"stripeId"` // the charge, refund or dispute
	ChargeID     string    `json:"chargeId,omitempty"`
	Date         string    `json:"date"`
	CreatedAt    time.Time `json:"createdAt"`
	// RetainUntil is when the record may be deleted (7 years after it was
	// made); see Retention.
	RetainUntil string `json:"retainUntil"`
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

// ConnectedAccount is the org's Stripe connected account, as the API shows
// it; accountRow stores it.
type ConnectedAccount struct {
	StripeAccountID string `json:"stripeAccountId"`
	Status          string `json:"status"` // not_connected, onboarding, restricted, enabled; never stored
	AccountStatus
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
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

// Invoice is an invoice of a client (and matter), mirrored to Stripe, as
// the API shows it (the fields it leaves out, json:"-", are the mirror's
// progress); invoiceRow stores it.
type Invoice struct {
	ID               string     `json:"id"`
	ClientID         string     `json:"clientId"`
	MatterID         string     `json:"matterId,omitempty"`
	Currency         string     `json:"currency"`
	DueDate          string     `json:"dueDate"`
	LineItems        []LineItem `json:"lineItems"`
	Total            int64      `json:"total"`
	Destination      string     `json:"destination"`
	TrustAccountID   string     `json:"trustAccountId,omitempty"`
	Status           string     `json:"status"`
	StripeInvoiceID  string     `json:"stripeInvoiceId,omitempty"`
	StripeCustomerID string     `json:"-"`
	// LinesMirrored counts the lines already on Stripe's invoice, saved
	// line by line, so a resumed mirror never adds one twice.
	LinesMirrored int    `json:"-"`
	HostedURL     string `json:"hostedUrl,omitempty"`
	Number        string `json:"number,omitempty"`
	// SyncError says why the invoice is not (fully) on Stripe yet; sending
	// it tries again.
	SyncError string    `json:"syncError,omitempty"`
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// RetainUntil is when the record may be deleted (see RetainUntil).
	RetainUntil string `json:"retainUntil"`
}

// The items. Each is its API type's attributes with the item's keys (and
// an invoice's mirror progress); the converters build the keys.

// accountRow is the item of the org's ConnectedAccount (Status is worked
// out on read, never stored).
type accountRow struct {
	store.Keys
	StripeAccountID string `dynamodbav:"stripeAccountId"`
	AccountStatus
	CreatedAt time.Time `dynamodbav:"createdAt"`
	UpdatedAt time.Time `dynamodbav:"updatedAt"`
}

func toAccountRow(orgID string, a ConnectedAccount) accountRow {
	if len(a.RequirementsDue) == 0 {
		a.RequirementsDue = nil // the table stores no empty lists; status() shows []
	}
	return accountRow{Keys: store.Keys{PK: tenant.PK(orgID), SK: accountSK, Type: "stripeAccount"}, StripeAccountID: a.StripeAccountID,
		AccountStatus: a.AccountStatus, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

func (r accountRow) toAccount() ConnectedAccount {
	a := ConnectedAccount{StripeAccountID: r.StripeAccountID, AccountStatus: r.AccountStatus, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	a.status()
	return a
}

// invoiceRow is the item of an Invoice.
type invoiceRow struct {
	store.Keys
	ID               string     `dynamodbav:"id"`
	ClientID         string     `dynamodbav:"clientId"`
	MatterID         string     `dynamodbav:"matterId,omitempty"`
	Currency         string     `dynamodbav:"currency"`
	DueDate          string     `dynamodbav:"dueDate"`
	LineItems        []LineItem `dynamodbav:"lineItems"`
	Total            int64      `dynamodbav:"total"`
	Destination      string     `dynamodbav:"destination"`
	TrustAccountID   string     `dynamodbav:"trustAccountId,omitempty"`
	Status           string     `dynamodbav:"status"`
	StripeInvoiceID  string     `dynamodbav:"stripeInvoiceId,omitempty"`
	StripeCustomerID string     `dynamodbav:"stripeCustomerId,omitempty"`
	LinesMirrored    int        `dynamodbav:"linesMirrored"`
	HostedURL        string     `dynamodbav:"hostedUrl,omitempty"`
	Number           string     `dynamodbav:"number,omitempty"`
	SyncError        string     `dynamodbav:"syncError,omitempty"`
	CreatedBy        string     `dynamodbav:"createdBy"`
	CreatedAt        time.Time  `dynamodbav:"createdAt"`
	UpdatedAt        time.Time  `dynamodbav:"updatedAt"`
	RetainUntil      string     `dynamodbav:"retainUntil"`
}

// toInvoiceRow is inv's item. An invoice that can still be paid is filed
// under its due date (GSI2), and a paid or void one is not, so the overdue
// list reads only invoices that are owed.
func toInvoiceRow(orgID string, inv Invoice) invoiceRow {
	r := invoiceRow{
		Keys: store.Keys{PK: tenant.PK(orgID), SK: invoiceSK(inv.ID), Type: "invoice", GSI1PK: invoicesOfClientPK(orgID, inv.ClientID), GSI1SK: inv.ID},
		ID:   inv.ID, ClientID: inv.ClientID, MatterID: inv.MatterID, Currency: inv.Currency, DueDate: inv.DueDate, LineItems: inv.LineItems,
		Total: inv.Total, Destination: inv.Destination, TrustAccountID: inv.TrustAccountID, Status: inv.Status, StripeInvoiceID: inv.StripeInvoiceID,
		StripeCustomerID: inv.StripeCustomerID, LinesMirrored: inv.LinesMirrored, HostedURL: inv.HostedURL, Number: inv.Number,
		SyncError: inv.SyncError, CreatedBy: inv.CreatedBy, CreatedAt: inv.CreatedAt, UpdatedAt: inv.UpdatedAt, RetainUntil: inv.RetainUntil,
	}
	if inv.Status != Paid && inv.Status != Void {
		r.GSI2PK, r.GSI2SK = invoicesDuePK(orgID), inv.DueDate+"#"+inv.ID
	}
	return r
}

func (r invoiceRow) toInvoice() Invoice {
	return Invoice{
		ID: r.ID, ClientID: r.ClientID, MatterID: r.MatterID, Currency: r.Currency, DueDate: r.DueDate, LineItems: r.LineItems,
		Total: r.Total, Destination: r.Destination, TrustAccountID: r.TrustAccountID, Status: r.Status, StripeInvoiceID: r.StripeInvoiceID,
		StripeCustomerID: r.StripeCustomerID, LinesMirrored: r.LinesMirrored, HostedURL: r.HostedURL, Number: r.Number,
		SyncError: r.SyncError, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, RetainUntil: r.RetainUntil,
	}
}

func toInvoices(rows []invoiceRow) []Invoice {
	out := make([]Invoice, len(rows))
	for i, r := range rows {
		out[i] = r.toInvoice()
	}
	return out
}

// paymentRow is the item of a Payment record.
type paymentRow struct {
	store.Keys
	ID           string    `dynamodbav:"id"`
	Kind         string    `dynamodbav:"kind"`
	InvoiceID    string    `dynamodbav:"invoiceId,omitempty"`
	ClientID     string    `dynamodbav:"clientId"`
	MatterID     string    `dynamodbav:"matterId,omitempty"`
	Currency     string    `dynamodbav:"currency"`
	Amount       int64     `dynamodbav:"amount"`
	Fee          int64     `dynamodbav:"fee"`
	Net          int64     `dynamodbav:"net"`
	Method       string    `dynamodbav:"method,omitempty"`
	Status       string    `dynamodbav:"status"`
	Destination  string    `dynamodbav:"destination"`
	TrustEntryID string    `dynamodbav:"trustEntryId,omitempty"`
	StripeID     string    `dynamodbav:"stripeId"`
	ChargeID     string    `dynamodbav:"chargeId,omitempty"`
	Date         string    `dynamodbav:"date"`
	CreatedAt    time.Time `dynamodbav:"createdAt"`
	RetainUntil  string    `dynamodbav:"retainUntil"`
}

// toPaymentRow is p's item, listed by its client (GSI1) and, when it pays
// an invoice, by the invoice (GSI2).
func toPaymentRow(orgID string, p Payment) paymentRow {
	r := paymentRow{
		Keys: store.Keys{PK: tenant.PK(orgID), SK: paymentSK(p.ID), Type: "payment", GSI1PK: paymentsOfClientPK(orgID, p.ClientID), GSI1SK: p.ID},
		ID:   p.ID, Kind: p.Kind, InvoiceID: p.InvoiceID, ClientID: p.ClientID, MatterID: p.MatterID, Currency: p.Currency, Amount: p.Amount,
		Fee: p.Fee, Net: p.Net, Method: p.Method, Status: p.Status, Destination: p.Destination, TrustEntryID: p.TrustEntryID,
		StripeID: p.StripeID, ChargeID: p.ChargeID, Date: p.Date, CreatedAt: p.CreatedAt, RetainUntil: p.RetainUntil,
	}
	if p.InvoiceID != "" {
		r.GSI2PK, r.GSI2SK = paymentsOfInvoicePK(orgID, p.InvoiceID), p.ID
	}
	return r
}

func (r paymentRow) toPayment() Payment {
	return Payment{
		ID: r.ID, Kind: r.Kind, InvoiceID: r.InvoiceID, ClientID: r.ClientID, MatterID: r.MatterID, Currency: r.Currency, Amount: r.Amount,
		Fee: r.Fee, Net: r.Net, Method: r.Method, Status: r.Status, Destination: r.Destination, TrustEntryID: r.TrustEntryID,
		StripeID: r.StripeID, ChargeID: r.ChargeID, Date: r.Date, CreatedAt: r.CreatedAt, RetainUntil: r.RetainUntil,
	}
}
