package payments

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/idempotency"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
	"github.com/matterly/matterly/shared/trust"
)

// CreateInvoice records an invoice in Matterly and mirrors it to Stripe as
// a draft on the org's connected account: the client's customer (created
// once), the invoice, its lines. It answers 201 once the invoice is
// recorded; if Stripe failed part way, SyncError says so and sending the
// invoice finishes the mirror (every Stripe write has an idempotency key of
// the invoice's id, so repeating one never makes a second).
//
// With an idempotency key, a retried request answers the invoice the first
// one made (replayed true) instead of making a second.
func (s *Service) CreateInvoice(ctx context.Context, a caller.Caller, idemKey string, in InvoiceInput) (Invoice, bool, error) {
	if err := idempotency.Check(idemKey); err != nil {
		return Invoice{}, false, err
	}
	total, err := in.normalize(s.Now())
	if err != nil {
		return Invoice{}, false, err
	}
	fingerprint := idempotency.Fingerprint(in)
	inv, err := s.createInvoice(ctx, a, idemKey, fingerprint, in, total)
	if errors.Is(err, idempotency.ErrClaimed) {
		id, err := idempotency.Replay(ctx, s.DB, a.OrgID, invoiceScope, idemKey, fingerprint)
		if err != nil {
			return Invoice{}, false, err
		}
		inv, err := s.Invoice(ctx, a.OrgID, id)
		return inv, err == nil, err
	}
	return inv, false, err
}

// invoiceScope is the invoices' idempotency keys.
const invoiceScope = "invoice"

func (s *Service) createInvoice(ctx context.Context, a caller.Caller, idemKey, fingerprint string, in InvoiceInput, total int64) (Invoice, error) {
	if _, err := s.stripe(); err != nil {
		return Invoice{}, err
	}
	pk := tenant.PK(a.OrgID)
	var client crm.Client
	var matter crm.Matter
	var acct accountRow
	var tacct trust.AccountRef
	var org tenant.OrgZone
	var claim idempotency.Record
	reqs := []*store.KeyOut{{PK: pk, SK: crm.ClientSK(in.ClientID), Out: &client}, {PK: pk, SK: accountSK, Out: &acct}, tenant.ZoneKey(a.OrgID, &org),
		{PK: pk, SK: idempotency.SK(invoiceScope, idemKey), Out: &claim}}
	var matterReq *store.KeyOut
	if in.MatterID != "" {
		matterReq = &store.KeyOut{PK: pk, SK: crm.MatterSK(in.MatterID), Out: &matter}
		reqs = append(reqs, matterReq)
	}
	if in.TrustAccountID != "" {
		reqs = append(reqs, trust.AccountKey(a.OrgID, in.TrustAccountID, &tacct))
	}
	if err := s.DB.BatchGet(ctx, reqs...); err != nil {
		return Invoice{}, err
	}
	if idemKey != "" && reqs[3].Found && claim.Live(s.Now()) {
		return Invoice{}, idempotency.ErrClaimed
	}
	var ck fault.Checker
	ck.Check(reqs[0].Found, "clientId", "no such client")
	if matterReq != nil {
		ck.Check(matterReq.Found, "matterId", "no such matter")
		ck.Check(!matterReq.Found || matter.ClientID == in.ClientID, "matterId", "is a matter of another client")
	}
	if in.TrustAccountID != "" {
		r := reqs[len(reqs)-1]
		ck.Check(r.Found, "trustAccountId", "no such trust account")
		ck.Check(!r.Found || tacct.Currency == in.Currency, "currency", "must be the trust account's currency ("+tacct.Currency+")")
	}
	loc := org.Loc()
	now := s.Now().UTC()
	ck.Check(in.DueDate >= now.In(loc).Format(check.DateLayout), "dueDate", "cannot be in the past")
	if err := ck.Err(); err != nil {
		return Invoice{}, err
	}
	if !reqs[1].Found {
		return Invoice{}, fault.Refused("payments.not-connected", "Connect Stripe first (POST /v1/payments/connect); invoices are sent from the practice's own Stripe account.")
	}
	inv := Invoice{ID: s.NewID(), ClientID: in.ClientID, MatterID: in.MatterID, Currency: in.Currency, DueDate: in.DueDate,
		LineItems: in.LineItems, Total: total, Destination: in.Destination, TrustAccountID: in.TrustAccountID, Status: Draft,
		CreatedBy: a.UserID, CreatedAt: now, UpdatedAt: now, RetainUntil: RetainUntil(now)}
	put, err := s.DB.Put(toInvoiceRow(a.OrgID, inv), store.NotExists())
	if err != nil {
		return Invoice{}, err
	}
	items := []types.TransactWriteItem{put, s.DB.Check(pk, crm.ClientSK(in.ClientID), *store.Exists())}
	if idemKey != "" {
		w, err := idempotency.Claim(s.DB, a.OrgID, invoiceScope, idemKey, fingerprint, inv.ID, now)
		if err != nil {
			return Invoice{}, err
		}
		items = append(items, w)
	}
	e := activity.Entry{Action: "invoice.created", EntityType: "invoice", EntityID: inv.ID, ClientID: in.ClientID, MatterID: in.MatterID,
		Detail: trust.Money(total, in.Currency)}
	// The invoice's id makes the commit's retries by the SDK idempotent.
	if err := activity.Commit(store.WithRequestToken(ctx, inv.ID), s.DB, activity.MainLog, a, now, access.WriteInvoices, e, items...); err != nil {
		switch {
		case idemKey != "" && store.Failed(err, 2):
			return Invoice{}, idempotency.ErrClaimed // the same request, sent twice at once
		case store.Failed(err, 1):
			return Invoice{}, fault.Fields(fault.FieldError{Field: "clientId", Message: "no such client"})
		}
		return Invoice{}, err
	}
	return s.mirror(ctx, a.OrgID, acct.StripeAccountID, client, inv), nil
}

// mirror brings an invoice's Stripe draft up to date. A failure is kept
// on the invoice (SyncError) instead of failing the request that recorded
// it; sending the invoice tries again.
func (s *Service) mirror(ctx context.Context, orgID, account string, client crm.Client, inv Invoice) Invoice {
	err := s.mirrorSteps(ctx, orgID, account, client, &inv)
	if err == nil {
		return inv
	}
	msg := "Stripe could not be reached."
	if fe := fault.As(err); fe != nil {
		msg = fe.Message
	}
	s.Log.Warn("invoice not mirrored to Stripe", "invoice", inv.ID, "err", err)
	saved, uerr := s.update(ctx, nil, orgID, inv.ID, activity.Entry{}, func(v *Invoice) { v.SyncError = msg })
	if uerr != nil {
		s.Log.Error("invoice sync error not saved", "invoice", inv.ID, "err", uerr)
		inv.SyncError = msg
		return inv
	}
	return saved
}

// mirrorSteps creates what is missing on Stripe (customer, invoice, each
// line), saving each step as it lands, so a resumed mirror never repeats
// one, even after Stripe's idempotency keys (24 hours) have expired.
func (s *Service) mirrorSteps(ctx context.Context, orgID, account string, client crm.Client, inv *Invoice) error {
	st, err := s.stripe()
	if err != nil {
		return err
	}
	progress := func(change func(*Invoice)) error {
		saved, err := s.update(ctx, nil, orgID, inv.ID, activity.Entry{}, change)
		if err == nil {
			*inv = saved
		}
		return err
	}
	if inv.StripeCustomerID == "" {
		id, err := s.customer(ctx, orgID, account, client)
		if err == nil {
			err = progress(func(v *Invoice) { v.StripeCustomerID = id })
		}
		if err != nil {
			return err
		}
	}
	if inv.StripeInvoiceID == "" {
		loc, err := tenant.ReadZone(ctx, s.DB, orgID)
		if err != nil {
			return err
		}
		// Due at the end of the due date where the practice is.
		due, _ := time.ParseInLocation(check.DateLayout, inv.DueDate, loc)
		si, err := st.CreateInvoice(ctx, "matterly-invoice-"+inv.ID, account, inv.StripeCustomerID, InvoiceDraft{
			Currency: inv.Currency, DueAt: due.AddDate(0, 0, 1).Add(-time.Second),
			Metadata: map[string]string{"matterlyOrgId": orgID, "matterlyInvoiceId": inv.ID, "destination": inv.Destination}})
		if err == nil {
			err = progress(func(v *Invoice) { v.StripeInvoiceID = si.ID })
		}
		if err != nil {
			return err
		}
	}
	for n := inv.LinesMirrored; n < len(inv.LineItems); n++ {
		l := inv.LineItems[n]
		desc := l.Description
		if l.Quantity > 1 {
			desc += " (" + strconv.FormatInt(l.Quantity, 10) + " × " + trust.Money(l.UnitAmount, inv.Currency) + ")"
		}
		err := st.AddItem(ctx, "matterly-invoice-"+inv.ID+"-line-"+strconv.Itoa(n), account, inv.StripeCustomerID, inv.StripeInvoiceID,
			inv.Currency, desc, l.Quantity*l.UnitAmount)
		if err == nil {
			err = progress(func(v *Invoice) { v.LinesMirrored = max(v.LinesMirrored, n+1) })
		}
		if err != nil {
			return err
		}
	}
	if inv.SyncError != "" {
		return progress(func(v *Invoice) { v.SyncError = "" })
	}
	return nil
}

// customer is the client's Stripe customer on the account, created once.
// Its idempotency key carries the details sent, since Stripe refuses a key
// reused with other parameters (a client renamed within the day).
func (s *Service) customer(ctx context.Context, orgID, account string, client crm.Client) (string, error) {
	var c struct {
		StripeCustomerID string `dynamodbav:"stripeCustomerId"`
	}
	err := s.DB.Get(ctx, tenant.PK(orgID), customerPf+client.ID, &c)
	if err == nil {
		return c.StripeCustomerID, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	name := client.Name
	if name == "" {
		name = "Client " + client.ID
	}
	sum := sha256.Sum256([]byte(name + "\x00" + client.Email))
	id, err := s.Stripe.CreateCustomer(ctx, "matterly-customer-"+client.ID+"-"+hex.EncodeToString(sum[:6]), account,
		Customer{ClientID: client.ID, Name: name, Email: client.Email})
	if err != nil {
		return "", err
	}
	err = s.DB.PutItem(ctx, struct {
		store.Keys
		StripeCustomerID string `dynamodbav:"stripeCustomerId"`
	}{store.Keys{PK: tenant.PK(orgID), SK: customerPf + client.ID, Type: "stripeCustomer"}, id}, store.NotExists())
	if errors.Is(err, store.ErrConditionFailed) {
		return s.customer(ctx, orgID, account, client) // stored meanwhile by another invoice
	}
	return id, err
}

// update re-reads an invoice, applies change and writes it conditioned on
// the version read (with e in the activity log, as a, when a is set),
// reading again when another write (the API or the webhook worker) landed
// in between: no update overwrites another.
func (s *Service) update(ctx context.Context, a *caller.Caller, orgID, id string, e activity.Entry, change func(*Invoice)) (Invoice, error) {
	for range 3 {
		inv, err := s.Invoice(ctx, orgID, id)
		if err != nil {
			return inv, err
		}
		before := inv.UpdatedAt
		change(&inv)
		inv.UpdatedAt = s.Now().UTC()
		w, err := s.DB.Replace(toInvoiceRow(orgID, inv), store.Unchanged(before), "createdAt", "createdBy")
		if err != nil {
			return inv, err
		}
		if a == nil {
			err = s.DB.UpdateItem(ctx, w, nil)
			if errors.Is(err, store.ErrConditionFailed) {
				continue
			}
		} else if err = activity.Commit(ctx, s.DB, activity.MainLog, *a, inv.UpdatedAt, access.WriteInvoices, e, w); store.Failed(err, 0) {
			continue
		}
		return inv, err
	}
	return Invoice{}, fault.E(fault.Conflict, "The invoice changed while this was written; try again.")
}

// Invoice reads one invoice.
func (s *Service) Invoice(ctx context.Context, orgID, id string) (Invoice, error) {
	if !check.ID(id) {
		return Invoice{}, errNoInvoice
	}
	var r invoiceRow
	err := s.DB.Get(ctx, tenant.PK(orgID), invoiceSK(id), &r)
	if errors.Is(err, store.ErrNotFound) {
		return Invoice{}, errNoInvoice
	}
	return r.toInvoice(), err
}

var errNoInvoice = fault.E(fault.NotFound, "No such invoice.")

// ListInvoices pages through the org's invoices, or a client's, newest first.
func (s *Service) ListInvoices(ctx context.Context, orgID, clientID string, limit int32, start store.StartKey) ([]Invoice, store.StartKey, error) {
	q := store.Query{PK: tenant.PK(orgID), SKPrefix: invoicePf, Limit: limit, StartKey: start, Consistent: true}
	if clientID != "" {
		q = store.Query{Index: store.IndexGSI1, PK: invoicesOfClientPK(orgID, clientID), Limit: limit, StartKey: start}
	}
	var rows []invoiceRow
	next, err := s.DB.QueryPage(ctx, q, &rows)
	return toInvoices(rows), next, err
}

// SendInvoice finishes the mirror if needed, finalizes a draft on Stripe
// (which gives it its hosted payment page) and has Stripe email it; an
// open invoice is emailed again.
func (s *Service) SendInvoice(ctx context.Context, a caller.Caller, id string) (Invoice, error) {
	st, err := s.stripe()
	if err != nil {
		return Invoice{}, err
	}
	inv, err := s.Invoice(ctx, a.OrgID, id)
	if err != nil {
		return Invoice{}, err
	}
	if inv.Status != Draft && inv.Status != Open {
		return Invoice{}, fault.Refused("payments.invoice-closed", "This invoice is %s; only draft and open invoices can be sent.", inv.Status)
	}
	acct, err := s.Account(ctx, a.OrgID)
	if err != nil {
		return Invoice{}, err
	}
	var client crm.Client
	if err := s.DB.Get(ctx, tenant.PK(a.OrgID), crm.ClientSK(inv.ClientID), &client); err != nil && !errors.Is(err, store.ErrNotFound) {
		return Invoice{}, err
	}
	client.ID = inv.ClientID
	if err := s.mirrorSteps(ctx, a.OrgID, acct.StripeAccountID, client, &inv); err != nil {
		return Invoice{}, err
	}
	if inv.Status == Draft {
		if _, err := st.Finalize(ctx, "matterly-invoice-"+inv.ID+"-finalize", acct.StripeAccountID, inv.StripeInvoiceID); err != nil {
			return Invoice{}, err
		}
	}
	// One email per send; a double click within the minute sends one.
	si, err := st.Send(ctx, "matterly-invoice-"+inv.ID+"-send-"+s.Now().UTC().Format("200601021504"), acct.StripeAccountID, inv.StripeInvoiceID)
	if err != nil {
		return Invoice{}, err
	}
	e := activity.Entry{Action: "invoice.sent", EntityType: "invoice", EntityID: inv.ID, ClientID: inv.ClientID, MatterID: inv.MatterID}
	return s.update(ctx, &a, a.OrgID, inv.ID, e, func(v *Invoice) {
		v.HostedURL, v.Number = cmp.Or(si.HostedURL, v.HostedURL), cmp.Or(si.Number, v.Number)
		v.Status = advance(v.Status, Open)
	})
}

// VoidInvoice voids an invoice that is not paid.
func (s *Service) VoidInvoice(ctx context.Context, a caller.Caller, id string) (Invoice, error) {
	st, err := s.stripe()
	if err != nil {
		return Invoice{}, err
	}
	inv, err := s.Invoice(ctx, a.OrgID, id)
	if err != nil {
		return Invoice{}, err
	}
	if inv.Status == Paid || inv.Status == Void {
		return Invoice{}, fault.Refused("payments.invoice-closed", "This invoice is %s; it cannot be voided.", inv.Status)
	}
	if inv.StripeInvoiceID != "" {
		acct, err := s.Account(ctx, a.OrgID)
		if err != nil {
			return Invoice{}, err
		}
		if inv.Status == Draft {
			// Stripe voids only finalized invoices: finalize the draft first,
			// so the void is on Stripe's record too.
			if _, err := st.Finalize(ctx, "matterly-invoice-"+inv.ID+"-finalize", acct.StripeAccountID, inv.StripeInvoiceID); err != nil {
				return Invoice{}, err
			}
		}
		if _, err := st.Void(ctx, "matterly-invoice-"+inv.ID+"-void", acct.StripeAccountID, inv.StripeInvoiceID); err != nil {
			return Invoice{}, err
		}
	}
	e := activity.Entry{Action: "invoice.voided", EntityType: "invoice", EntityID: inv.ID, ClientID: inv.ClientID, MatterID: inv.MatterID}
	return s.update(ctx, &a, a.OrgID, inv.ID, e, func(v *Invoice) { v.Status = advance(v.Status, Void) })
}

// rank orders invoice states so that an older update never overwrites a
// newer one, whatever order Stripe's webhooks arrive in: paid and void are
// final.
var rank = map[string]int{Draft: 0, Open: 1, Uncollectible: 2, Paid: 3, Void: 3}

// advance is the status after an update to next: next if it moves the
// invoice forward, the current one otherwise.
func advance(cur, next string) string {
	if cur == Paid || cur == Void || rank[next] < rank[cur] {
		return cur
	}
	return next
}

// invoicesDuePK is the index partition (GSI2) of the org's invoices that
// can still be paid, by due date (see toInvoiceRow).
func invoicesDuePK(orgID string) string { return tenant.PK(orgID) + "#INVDUE" }

// OverdueInvoices pages through the org's open and uncollectible invoices
// due before today (YYYY-MM-DD, in the org's time zone), oldest due first:
// what the reminder schedule (the messaging capability) sends payment
// reminders for.
func (s *Service) OverdueInvoices(ctx context.Context, orgID, today string, limit int32, start store.StartKey) ([]Invoice, store.StartKey, error) {
	var rows []invoiceRow
	next, err := s.DB.QueryPage(ctx, store.Query{Index: store.IndexGSI2, PK: invoicesDuePK(orgID), SKFrom: "0", SKTo: today, Forward: true,
		Limit: limit, StartKey: start}, &rows)
	if err != nil {
		return nil, nil, err
	}
	var out []Invoice
	for _, inv := range toInvoices(rows) {
		// Drafts were never sent; an index entry may trail a payment by a moment.
		if inv.Status == Open || inv.Status == Uncollectible {
			out = append(out, inv)
		}
	}
	return out, next, nil
}
