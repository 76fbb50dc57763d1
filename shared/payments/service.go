package payments

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
	"github.com/matterly/matterly/shared/trust"
)

// Service implements payments.
type Service struct {
	DB     *store.DB
	Log    *slog.Logger
	Now    func() time.Time
	NewID  func() string
	Stripe Stripe // nil when Stripe is not configured
	// AppURL is where Stripe sends the user back after onboarding (the
	// browser app's first allowed origin).
	AppURL string
}

// NewService returns a Service with ULID ids.
func NewService(db *store.DB, log *slog.Logger, now func() time.Time, stripe Stripe, appURL string) *Service {
	return &Service{DB: db, Log: log, Now: now, NewID: func() string { return ulid.Make().String() }, Stripe: stripe, AppURL: appURL}
}

var errNoStripe = &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Minute,
	Message: "Stripe is not configured: set STRIPE_SECRET_KEY (and STRIPE_API_BASE_URL for stripe-mock) for make dev, or the Stripe secret in AWS."}

func (s *Service) stripe() (Stripe, error) {
	if s.Stripe == nil {
		return nil, errNoStripe
	}
	return s.Stripe, nil
}

// Keys. The account map is the one item outside any org's partition: a
// Connect webhook names only the Stripe account, and this finds its org.
const (
	accountSK  = "PAY#ACCOUNT"
	customerPf = "PAY#CUST#"
	invoicePf  = "INV#"
	mapSK      = "STRIPEACCT"
)

func mapPK(stripeAccountID string) string { return "STRIPEACCT#" + stripeAccountID }

func invoiceSK(id string) string { return invoicePf + id }

func invoicesOfClientPK(orgID, clientID string) string {
	return tenant.PK(orgID) + "#CLIENT#" + clientID + "#INV"
}

// Account reads the org's connected account (status not_connected when
// there is none).
func (s *Service) Account(ctx context.Context, orgID string) (ConnectedAccount, error) {
	var r accountRow
	err := s.DB.Get(ctx, tenant.PK(orgID), accountSK, &r)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return ConnectedAccount{}, err
	}
	return r.toAccount(), nil
}

// ConnectInput says where Stripe sends the user back.
type ConnectInput struct {
	ReturnURL  string `json:"returnUrl"`
	RefreshURL string `json:"refreshUrl"`
}

// Connection is the answer to a connect: where to onboard.
type Connection struct {
	OnboardingURL   string `json:"onboardingUrl"`
	StripeAccountID string `json:"stripeAccountId"`
}

// Connect creates the org's Express account once (a second call, or two at
// once, reuse it) and returns a fresh onboarding link for it.
func (s *Service) Connect(ctx context.Context, a caller.Caller, email string, in ConnectInput) (Connection, error) {
	st, err := s.stripe()
	if err != nil {
		return Connection{}, err
	}
	var ck fault.Checker
	for field, v := range map[string]*string{"returnUrl": &in.ReturnURL, "refreshUrl": &in.RefreshURL} {
		if *v == "" {
			*v = strings.TrimSuffix(s.AppURL, "/") + "/settings/payments"
		}
		ck.Check(s.allowedReturn(*v), field, "must be a page of the app ("+s.AppURL+")")
	}
	if err := ck.Err(); err != nil {
		return Connection{}, err
	}
	// An onboarding link hands over the org's Stripe account (its bank
	// details): only to a member who still manages payments.
	if err := tenant.Confirm(ctx, s.DB, a.OrgID, a.UserID, access.ManagePayments); err != nil {
		return Connection{}, err
	}
	acct, err := s.Account(ctx, a.OrgID)
	if err != nil {
		return Connection{}, err
	}
	if acct.StripeAccountID == "" {
		// The idempotency key makes a retry within Stripe's 24 hours get the
		// same account; the conditional put makes only one ever stored.
		id, err := st.CreateAccount(ctx, "matterly-account-"+a.OrgID, a.OrgID, email)
		if err != nil {
			return Connection{}, err
		}
		now := s.Now().UTC()
		acct = ConnectedAccount{StripeAccountID: id, CreatedAt: now, UpdatedAt: now}
		put, err := s.DB.Put(toAccountRow(a.OrgID, acct), store.NotExists())
		if err != nil {
			return Connection{}, err
		}
		link, err := s.DB.Put(struct {
			store.Keys
			OrgID string `dynamodbav:"orgId"`
		}{store.Keys{PK: mapPK(id), SK: mapSK, Type: "stripeAccountMap"}, a.OrgID}, nil)
		if err != nil {
			return Connection{}, err
		}
		e := activity.Entry{Action: "payments.connected", EntityType: "stripeAccount", EntityID: id}
		err = activity.Commit(ctx, s.DB, activity.MainLog, a, now, access.ManagePayments, e, put, link)
		if store.Failed(err, 0) {
			if acct, err = s.Account(ctx, a.OrgID); err != nil {
				return Connection{}, err
			}
		} else if err != nil {
			return Connection{}, err
		}
	}
	u, err := st.AccountLink(ctx, acct.StripeAccountID, in.RefreshURL, in.ReturnURL)
	if err != nil {
		return Connection{}, err
	}
	return Connection{OnboardingURL: u, StripeAccountID: acct.StripeAccountID}, nil
}

// allowedReturn reports whether u is a page of the app, so an onboarding
// link cannot be made to send the user elsewhere.
func (s *Service) allowedReturn(u string) bool {
	app, err1 := url.Parse(s.AppURL)
	got, err2 := url.Parse(u)
	return err1 == nil && err2 == nil && app.Host != "" && got.Scheme == app.Scheme && got.Host == app.Host && got.User == nil && len(u) <= 2048
}

// InvoiceInput is a new invoice (API.md POST /v1/invoices).
type InvoiceInput struct {
	ClientID  string     `json:"clientId"`
	MatterID  string     `json:"matterId"`
	Currency  string     `json:"currency"`
	DueDate   string     `json:"dueDate"`
	LineItems []LineItem `json:"lineItems"`
	// Destination is where the money goes: "operating" (default) or
	// "trust" (a retainer), then recorded in TrustAccountID's ledger.
	Destination    string `json:"destination"`
	TrustAccountID string `json:"trustAccountId"`
}

// maxLines bounds an invoice's lines (Stripe takes up to 250).
const maxLines = 100

func (in *InvoiceInput) normalize(now time.Time) (int64, error) {
	var ck fault.Checker
	ck.Check(check.ID(in.ClientID), "clientId", "must be the id of a client")
	ck.Check(in.MatterID == "" || check.ID(in.MatterID), "matterId", "must be an id")
	code := strings.ToLower(in.Currency)
	ck.Check(trust.ValidCurrency(code), "currency", "must be an ISO 4217 currency code, e.g. usd")
	in.Currency = code
	check.MoneyDate(&ck, "dueDate", in.DueDate, now)
	ck.Check(len(in.LineItems) >= 1 && len(in.LineItems) <= maxLines, "lineItems", "must have 1 to "+strconv.Itoa(maxLines)+" lines")
	var total int64
	for i, l := range in.LineItems {
		f := "lineItems[" + strconv.Itoa(i) + "]."
		in.LineItems[i].Description = strings.TrimSpace(l.Description)
		check.Text(&ck, f+"description", in.LineItems[i].Description, true, 500)
		ck.Check(l.Quantity >= 1 && l.Quantity <= 10_000, f+"quantity", "must be a whole number from 1 to 10000")
		ck.Check(l.UnitAmount >= 1 && l.UnitAmount <= trust.MaxAmount, f+"unitAmount", "must be a whole number of minor units from 1 to "+strconv.FormatInt(trust.MaxAmount, 10))
		if l.Quantity >= 1 && l.Quantity <= 10_000 && l.UnitAmount >= 1 && l.UnitAmount <= trust.MaxAmount {
			total += l.Quantity * l.UnitAmount // at most 10^16 per line, 10^18 in all: no overflow
		}
	}
	ck.Check(total <= trust.MaxAmount, "lineItems", "the total must be at most "+strconv.FormatInt(trust.MaxAmount, 10)+" minor units")
	switch in.Destination {
	case "":
		in.Destination = ToOperating
		fallthrough
	case ToOperating:
		ck.Check(in.TrustAccountID == "", "trustAccountId", "only for invoices whose destination is trust")
	case ToTrust:
		ck.Check(check.ID(in.TrustAccountID), "trustAccountId", "is required: the trust account the retainer is recorded in")
	default:
		ck.Add("destination", `must be "operating" or "trust"`)
	}
	return total, ck.Err()
}
