// Package stripe calls Stripe (or stripe-mock) for the payments
// capability, through github.com/stripe/stripe-go/v76. Every write carries
// an idempotency key the caller derives from Matterly's own ids, so a
// retried request never creates a second account, customer or invoice;
// every call on a connected account carries its Stripe-Account header.
package stripe

import (
	"context"
	"errors"
	"net/http"
	"time"

	stripego "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/payments"
)

// Client is a Stripe platform account's API client.
type Client struct{ api *client.API }

var _ payments.Stripe = (*Client)(nil)

// New returns a client for the platform's secret key. baseURL points it
// at stripe-mock or another stand-in; "" is Stripe itself.
func New(secretKey, baseURL string) *Client {
	// Retries are safe (every write is idempotent); the call timeout keeps
	// three tries within the payments function's 30 seconds.
	retries := int64(2)
	cfg := &stripego.BackendConfig{
		HTTPClient:        &http.Client{Timeout: 8 * time.Second},
		MaxNetworkRetries: &retries,
		LeveledLogger:     &stripego.LeveledLogger{Level: stripego.LevelNull}, // our log line is the access log; Stripe's would carry request details
	}
	if baseURL != "" {
		cfg.URL = stripego.String(baseURL)
	}
	backends := &stripego.Backends{
		API:     stripego.GetBackendWithConfig(stripego.APIBackend, cfg),
		Connect: stripego.GetBackendWithConfig(stripego.ConnectBackend, cfg),
		Uploads: stripego.GetBackendWithConfig(stripego.UploadsBackend, cfg),
	}
	return &Client{api: client.New(secretKey, backends)}
}

// params sets what every call carries: the context, the idempotency key of
// a write, and the connected account it acts on.
func params(p *stripego.Params, ctx context.Context, idem, account string) {
	p.Context = ctx
	if idem != "" {
		p.IdempotencyKey = stripego.String(idem)
	}
	if account != "" {
		p.StripeAccount = stripego.String(account)
	}
}

// CreateAccount creates the org's Express connected account.
func (c *Client) CreateAccount(ctx context.Context, idem, orgID, email string) (string, error) {
	p := &stripego.AccountParams{Type: stripego.String(string(stripego.AccountTypeExpress))}
	if email != "" {
		p.Email = stripego.String(email)
	}
	p.AddMetadata("matterlyOrgId", orgID)
	params(&p.Params, ctx, idem, "")
	a, err := c.api.Accounts.New(p)
	if err != nil {
		return "", wrap(err)
	}
	return a.ID, nil
}

// AccountLink returns a one-time onboarding link for a connected account.
func (c *Client) AccountLink(ctx context.Context, accountID, refreshURL, returnURL string) (string, error) {
	p := &stripego.AccountLinkParams{Account: stripego.String(accountID), RefreshURL: stripego.String(refreshURL),
		ReturnURL: stripego.String(returnURL), Type: stripego.String("account_onboarding")}
	params(&p.Params, ctx, "", "")
	l, err := c.api.AccountLinks.New(p)
	if err != nil {
		return "", wrap(err)
	}
	return l.URL, nil
}

// Account reads a connected account's status.
func (c *Client) Account(ctx context.Context, accountID string) (payments.AccountStatus, error) {
	p := &stripego.AccountParams{}
	params(&p.Params, ctx, "", "")
	a, err := c.api.Accounts.GetByID(accountID, p)
	if err != nil {
		return payments.AccountStatus{}, wrap(err)
	}
	return StatusOf(a), nil
}

// StatusOf is what Matterly keeps of a connected account.
func StatusOf(a *stripego.Account) payments.AccountStatus {
	s := payments.AccountStatus{ChargesEnabled: a.ChargesEnabled, PayoutsEnabled: a.PayoutsEnabled, DetailsSubmitted: a.DetailsSubmitted}
	if a.Requirements != nil {
		s.RequirementsDue = append(append([]string{}, a.Requirements.PastDue...), a.Requirements.CurrentlyDue...)
	}
	return s
}

// CreateCustomer creates a client's customer on the connected account.
func (c *Client) CreateCustomer(ctx context.Context, idem, account string, cust payments.Customer) (string, error) {
	p := &stripego.CustomerParams{Name: stripego.String(cust.Name)}
	if cust.Email != "" {
		p.Email = stripego.String(cust.Email)
	}
	p.AddMetadata("matterlyClientId", cust.ClientID)
	params(&p.Params, ctx, idem, account)
	out, err := c.api.Customers.New(p)
	if err != nil {
		return "", wrap(err)
	}
	return out.ID, nil
}

// CreateInvoice creates a draft send_invoice invoice for the customer.
func (c *Client) CreateInvoice(ctx context.Context, idem, account, customerID string, inv payments.InvoiceDraft) (payments.StripeInvoice, error) {
	p := &stripego.InvoiceParams{
		Customer: stripego.String(customerID), Currency: stripego.String(inv.Currency),
		CollectionMethod:            stripego.String(string(stripego.InvoiceCollectionMethodSendInvoice)),
		DueDate:                     stripego.Int64(inv.DueAt.Unix()),
		AutoAdvance:                 stripego.Bool(false), // Matterly finalizes and sends when the user says so
		PendingInvoiceItemsBehavior: stripego.String("exclude"),
	}
	for k, v := range inv.Metadata {
		p.AddMetadata(k, v)
	}
	params(&p.Params, ctx, idem, account)
	out, err := c.api.Invoices.New(p)
	if err != nil {
		return payments.StripeInvoice{}, wrap(err)
	}
	return invoiceOf(out), nil
}

// AddItem adds one line to a draft invoice, as an amount: Stripe's
// unit_amount is gone from its newer API versions (stripe-mock refuses it)
// and unit_amount_decimal is a float, which money never is here.
func (c *Client) AddItem(ctx context.Context, idem, account, customerID, invoiceID, currency, description string, amount int64) error {
	p := &stripego.InvoiceItemParams{Customer: stripego.String(customerID), Invoice: stripego.String(invoiceID), Currency: stripego.String(currency),
		Description: stripego.String(description), Amount: stripego.Int64(amount)}
	params(&p.Params, ctx, idem, account)
	_, err := c.api.InvoiceItems.New(p)
	return wrap(err)
}

// Finalize finalizes a draft invoice, which gives it its hosted page.
func (c *Client) Finalize(ctx context.Context, idem, account, invoiceID string) (payments.StripeInvoice, error) {
	p := &stripego.InvoiceFinalizeInvoiceParams{AutoAdvance: stripego.Bool(false)}
	params(&p.Params, ctx, idem, account)
	out, err := c.api.Invoices.FinalizeInvoice(invoiceID, p)
	if err != nil {
		return payments.StripeInvoice{}, wrap(err)
	}
	return invoiceOf(out), nil
}

// Send emails a finalized invoice to the customer.
func (c *Client) Send(ctx context.Context, idem, account, invoiceID string) (payments.StripeInvoice, error) {
	p := &stripego.InvoiceSendInvoiceParams{}
	params(&p.Params, ctx, idem, account)
	out, err := c.api.Invoices.SendInvoice(invoiceID, p)
	if err != nil {
		return payments.StripeInvoice{}, wrap(err)
	}
	return invoiceOf(out), nil
}

// Void voids a finalized invoice.
func (c *Client) Void(ctx context.Context, idem, account, invoiceID string) (payments.StripeInvoice, error) {
	p := &stripego.InvoiceVoidInvoiceParams{}
	params(&p.Params, ctx, idem, account)
	out, err := c.api.Invoices.VoidInvoice(invoiceID, p)
	if err != nil {
		return payments.StripeInvoice{}, wrap(err)
	}
	return invoiceOf(out), nil
}

// Charge reads a charge on the connected account with its balance
// transaction, for the fee and the net.
func (c *Client) Charge(ctx context.Context, account, chargeID string) (payments.ChargeInfo, error) {
	p := &stripego.ChargeParams{}
	p.AddExpand("balance_transaction")
	p.AddExpand("invoice")
	params(&p.Params, ctx, "", account)
	ch, err := c.api.Charges.Get(chargeID, p)
	if err != nil {
		return payments.ChargeInfo{}, wrap(err)
	}
	info := payments.ChargeInfo{Amount: ch.Amount, Net: ch.Amount}
	if bt := ch.BalanceTransaction; bt != nil {
		info.Fee, info.Net = bt.Fee, bt.Net
	}
	if ch.PaymentMethodDetails != nil {
		info.Method = string(ch.PaymentMethodDetails.Type)
	}
	if ch.Invoice != nil {
		info.MatterlyInvoiceID = ch.Invoice.Metadata["matterlyInvoiceId"]
	}
	return info, nil
}

// Refunds lists a charge's refunds on the connected account (a charge
// carries them no longer since Stripe's API version 2022-11-15).
func (c *Client) Refunds(ctx context.Context, account, chargeID string) ([]payments.RefundInfo, error) {
	p := &stripego.RefundListParams{Charge: stripego.String(chargeID)}
	p.Context = ctx
	p.SetStripeAccount(account)
	var out []payments.RefundInfo
	it := c.api.Refunds.List(p)
	for it.Next() {
		r := it.Refund()
		out = append(out, payments.RefundInfo{ID: r.ID, Amount: r.Amount, Status: string(r.Status)})
	}
	return out, wrap(it.Err())
}

func invoiceOf(in *stripego.Invoice) payments.StripeInvoice {
	return payments.StripeInvoice{ID: in.ID, Status: string(in.Status), HostedURL: in.HostedInvoiceURL, Number: in.Number}
}

// wrap turns Stripe's errors into the API's: a refusal of the request
// (Stripe's 4xx) is a conflict the user can act on, anything else (rate
// limits, Stripe down, the network) a 503 to retry.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	var se *stripego.Error
	if errors.As(err, &se) && se.HTTPStatusCode >= 400 && se.HTTPStatusCode < 500 && se.HTTPStatusCode != http.StatusTooManyRequests {
		return &fault.Error{Kind: fault.Conflict, Message: "Stripe refused the request: " + se.Msg, Err: err}
	}
	return &fault.Error{Kind: fault.Unavailable, Message: "Stripe is not answering; try again shortly.", RetryAfter: 5 * time.Second, Err: err}
}

// Configured is the client of the platform's secret key, nil (typed as
// the interface) when no key is set, so the payment routes answer 503
// saying what to set.
func Configured(secretKey, baseURL string) payments.Stripe {
	if secretKey == "" || secretKey == payments.UnsetSecret {
		return nil
	}
	return New(secretKey, baseURL)
}
