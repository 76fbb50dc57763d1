package payments

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	stripego "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/queue"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
	"github.com/matterly/matterly/shared/trust"
)

// unknownGrace is how long an event naming an account Matterly does not
// know is retried before it is logged and acknowledged.
const unknownGrace = 10 * time.Minute

// EventsQueue is the queue between the webhook and the worker: the webhook
// answers Stripe at once, and the worker applies each event exactly once.
const EventsQueue = "stripe-events"

// signatureTolerance is how old a signed webhook may be (Stripe's default,
// as the issue asks): a replayed old delivery is refused.
const signatureTolerance = 5 * time.Minute

// maxWebhookBody keeps a verified event within one SQS message.
const maxWebhookBody = 250 << 10

// Webhook is what the Stripe webhook needs: the endpoint's signing secret
// ("" or UnsetSecret until configured: the route then answers 503) and the
// queue its verified events go to (EventsQueue).
type Webhook struct {
	Secret string
	Queue  queue.Sender
}

// NewWebhookRouter serves POST /webhooks/stripe: the signature is checked
// before anything else, then the event is queued; nothing else is done in
// the request.
func NewWebhookRouter(wh Webhook, rc httpapi.RouterConfig) (*httpapi.Router, error) {
	rt := httpapi.NewRouter(routes.FnStripeWebhook, httpapi.Options{Verifier: rc.Verifier, Logger: rc.Logger, MaxBody: maxWebhookBody})
	rt.Handle("POST /webhooks/stripe", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if wh.Secret == "" || wh.Secret == UnsetSecret {
			return nil, &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Minute,
				Message: "The Stripe webhook is not configured: set STRIPE_WEBHOOK_SECRET (locally) or the webhook secret in AWS."}
		}
		body, err := r.Body()
		if err != nil {
			return nil, err
		}
		ev, err := webhook.ConstructEventWithOptions(body, r.Header("Stripe-Signature"), wh.Secret,
			webhook.ConstructEventOptions{Tolerance: signatureTolerance, IgnoreAPIVersionMismatch: true})
		if err != nil {
			return nil, fault.E(fault.Malformed, "The Stripe-Signature header does not verify (wrong secret, altered body or a delivery older than 5 minutes).")
		}
		if wh.Queue == nil {
			return nil, &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Minute, Message: "The Stripe event queue is not configured."}
		}
		// Stripe redelivers anything not answered 2xx, so a failed send is a
		// 503 (Stripe tries again), never a dropped event.
		if err := wh.Queue.Send(ctx, EventsQueue, string(body), map[string]string{"eventId": ev.ID, "eventType": string(ev.Type)}); err != nil {
			return nil, &fault.Error{Kind: fault.Unavailable, RetryAfter: 10 * time.Second, Message: "The event could not be queued; Stripe will redeliver it.", Err: err}
		}
		return httpapi.JSON(http.StatusOK, map[string]bool{"received": true}), nil
	})
	return rt, rt.Check()
}

// Worker applies queued Stripe events.
type Worker struct {
	svc   *Service
	trust *trust.Service
}

// NewWorker returns the worker of EventsQueue: svc applies the events,
// tr posts the trust deposits of trust-account payments.
func NewWorker(svc *Service, tr *trust.Service) *Worker {
	return &Worker{svc: svc, trust: tr}
}

// Handle applies a batch in order and reports the messages that failed,
// which SQS delivers again (then to the DLQ, with an alarm): an event is
// never silently dropped.
func (w *Worker) Handle(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range batch.Records {
		start := time.Now()
		if err := w.apply(ctx, m.Body); err != nil {
			w.svc.Log.Error("stripe event not applied", "messageId", m.MessageId, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		w.svc.Log.Info("stripe event applied", "eventId", m.MessageAttributes["eventId"].StringValue, "ms", float64(time.Since(start).Microseconds())/1000)
	}
	return resp, nil
}

// stripeActor is who the activity log names for changes Stripe reports.
func stripeActor(orgID string) caller.Caller {
	return caller.Caller{OrgID: orgID, UserID: "stripe", Role: "system", IP: "", UserAgent: "Stripe webhook"}
}

// apply applies one event exactly once: its id is recorded with a
// conditional put in the same transaction as its effect, so a redelivered
// or duplicated event changes nothing the second time.
func (w *Worker) apply(ctx context.Context, body string) error {
	var ev stripego.Event
	if err := json.Unmarshal([]byte(body), &ev); err != nil || ev.Data == nil {
		return errors.New("unreadable event")
	}
	if ev.Account == "" {
		w.svc.Log.Info("platform event ignored", "eventId", ev.ID, "type", ev.Type)
		return nil
	}
	var m struct {
		OrgID string `dynamodbav:"orgId"`
	}
	err := w.svc.DB.Get(ctx, mapPK(ev.Account), mapSK, &m)
	if errors.Is(err, store.ErrNotFound) {
		// Connect stores the account a moment after Stripe creates it, and
		// Stripe may be quicker: retry a young event. An old one is for an
		// account no org connected (an abandoned one, another environment's).
		if time.Since(time.Unix(ev.Created, 0)) < unknownGrace {
			return fmt.Errorf("event %s for account %s, which no org has connected yet", ev.ID, ev.Account)
		}
		w.svc.Log.Warn("event for an account no org connected, acknowledged", "eventId", ev.ID, "account", ev.Account)
		return nil
	}
	if err != nil {
		return err
	}
	// A redelivery usually finds its claim already made: skip the work
	// (and the Stripe read) before the transaction would refuse it anyway.
	var seen struct{}
	if err := w.svc.DB.Get(ctx, tenant.PK(m.OrgID), "PAY#EVT#"+ev.ID, &seen); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	marker, err := w.svc.DB.Put(struct {
		store.Keys
		Type string `dynamodbav:"eventType"`
	}{store.Keys{PK: tenant.PK(m.OrgID), SK: "PAY#EVT#" + ev.ID, Type: "stripeEvent"}, string(ev.Type)}, store.NotExists())
	if err != nil {
		return err
	}
	var items []types.TransactWriteItem
	var prepared *trust.Prepared
	var entry activity.Entry
	switch {
	case ev.Type == "account.updated":
		items, entry, err = w.accountUpdated(ctx, m.OrgID, ev)
	case strings.HasPrefix(string(ev.Type), "invoice."):
		items, prepared, entry, err = w.invoiceEvent(ctx, m.OrgID, ev)
	case ev.Type == "charge.refunded" || ev.Type == "charge.dispute.created":
		items, entry, err = w.chargeEvent(ctx, m.OrgID, ev)
	}
	if err != nil {
		return err
	}
	all := []types.TransactWriteItem{marker}
	if prepared != nil {
		all = append(prepared.Items, all...)
	}
	all = append(all, items...)
	if entry.Action != "" {
		rec, err := activity.Record(w.svc.DB, stripeActor(m.OrgID), w.svc.Now(), entry)
		if err != nil {
			return err
		}
		all = append(all, rec)
	}
	err = w.svc.DB.Transact(ctx, all...)
	markerAt := 0
	if prepared != nil {
		markerAt = len(prepared.Items)
		if why := prepared.Refusal(err); why != nil {
			return why // a trust rule refused the deposit: the event goes to the DLQ for a person
		}
	}
	if store.Failed(err, markerAt) {
		return nil // applied before: a redelivery
	}
	return err
}

// accountUpdated keeps the connected account's status current. It reads
// the account from Stripe rather than trusting the event's copy, so events
// arriving out of order (or within one second) can never store an older
// state over a newer one.
func (w *Worker) accountUpdated(ctx context.Context, orgID string, ev stripego.Event) ([]types.TransactWriteItem, activity.Entry, error) {
	st, err := w.svc.stripe()
	if err != nil {
		return nil, activity.Entry{}, err
	}
	fetched := time.Now().UnixNano()
	live, err := st.Account(ctx, ev.Account)
	if err != nil {
		return nil, activity.Entry{}, err
	}
	if live.RequirementsDue == nil {
		live.RequirementsDue = []string{}
	}
	due, err := store.Marshal(struct {
		V []string `dynamodbav:"v"`
	}{live.RequirementsDue})
	if err != nil {
		return nil, activity.Entry{}, err
	}
	upd := w.svc.DB.Update(tenant.PK(orgID), accountSK,
		"SET chargesEnabled = :c, payoutsEnabled = :p, detailsSubmitted = :d, requirementsDue = :r, updatedAt = :u, fetchedAt = :f",
		// Two events handled at once: the state read later wins, whichever
		// writes last (a failed condition is retried, and reads again).
		&store.Cond{Expr: "attribute_exists(PK) AND (attribute_not_exists(fetchedAt) OR fetchedAt <= :f)"}, nil,
		map[string]types.AttributeValue{":c": store.Bool(live.ChargesEnabled), ":p": store.Bool(live.PayoutsEnabled), ":d": store.Bool(live.DetailsSubmitted),
			":r": due["v"], ":u": store.S(w.svc.Now().UTC().Format(time.RFC3339Nano)), ":f": store.N(fetched)})
	return []types.TransactWriteItem{upd}, activity.Entry{Action: "payments.account.updated", EntityType: "stripeAccount", EntityID: ev.Account}, nil
}

// invoiceStatus is the status each invoice event moves an invoice to ("":
// none, the event is only logged).
var invoiceStatus = map[stripego.EventType]string{
	"invoice.finalized": Open, "invoice.sent": Open, "invoice.paid": Paid, "invoice.payment_failed": "",
	"invoice.voided": Void, "invoice.marked_uncollectible": Uncollectible,
}

// invoiceEvent moves an invoice forward (never back: events come in any
// order) and, for invoice.paid, records the payment and, for an invoice
// into trust, the client's trust deposit at the full amount paid.
func (w *Worker) invoiceEvent(ctx context.Context, orgID string, ev stripego.Event) ([]types.TransactWriteItem, *trust.Prepared, activity.Entry, error) {
	next, known := invoiceStatus[ev.Type]
	if !known {
		return nil, nil, activity.Entry{}, nil
	}
	var si stripego.Invoice
	if err := json.Unmarshal(ev.Data.Raw, &si); err != nil {
		return nil, nil, activity.Entry{}, err
	}
	id := si.Metadata["matterlyInvoiceId"]
	inv, err := w.svc.Invoice(ctx, orgID, id)
	if fault.Is(err, fault.NotFound) || (err == nil && inv.StripeInvoiceID != si.ID) {
		w.svc.Log.Warn("event for an invoice Matterly did not make", "eventId", ev.ID, "stripeInvoice", si.ID)
		return nil, nil, activity.Entry{}, nil
	}
	if err != nil {
		return nil, nil, activity.Entry{}, err
	}
	e := activity.Entry{Action: strings.Replace(string(ev.Type), "marked_", "", 1), EntityType: "invoice", EntityID: inv.ID, ClientID: inv.ClientID, MatterID: inv.MatterID}
	before := inv.UpdatedAt
	if next != "" {
		inv.Status = advance(inv.Status, next)
	}
	if si.HostedInvoiceURL != "" {
		inv.HostedURL = si.HostedInvoiceURL
	}
	if si.Number != "" {
		inv.Number = si.Number
	}
	inv.UpdatedAt = w.svc.Now().UTC()
	upd, err := w.svc.DB.Replace(toInvoiceRow(orgID, inv), store.Unchanged(before), "createdAt", "createdBy")
	if err != nil {
		return nil, nil, e, err
	}
	items := []types.TransactWriteItem{upd}
	if ev.Type != "invoice.paid" || si.AmountPaid <= 0 {
		return items, nil, e, nil
	}
	pay, prepared, err := w.payment(ctx, orgID, ev.Account, inv, si)
	if err != nil {
		return nil, nil, e, err
	}
	return append(items, pay...), prepared, e, nil
}

// payment records a paid invoice's charge: amount, Stripe's fee and the
// net, all against operating; for an invoice into trust, the trust deposit
// is the gross amount, so fees never reduce a client's trust balance.
func (w *Worker) payment(ctx context.Context, orgID, account string, inv Invoice, si stripego.Invoice) ([]types.TransactWriteItem, *trust.Prepared, error) {
	st, err := w.svc.stripe()
	if err != nil {
		return nil, nil, err
	}
	chargeID := ""
	if si.Charge != nil {
		chargeID = si.Charge.ID
	}
	info := ChargeInfo{Amount: si.AmountPaid, Net: si.AmountPaid}
	if chargeID != "" {
		if info, err = st.Charge(ctx, account, chargeID); err != nil {
			return nil, nil, err
		}
		info.Amount = si.AmountPaid
	}
	now := w.svc.Now().UTC()
	loc, err := tenant.ReadZone(ctx, w.svc.DB, orgID)
	if err != nil {
		return nil, nil, err
	}
	p := Payment{ID: w.svc.NewID(), Kind: KindPayment, InvoiceID: inv.ID, ClientID: inv.ClientID, MatterID: inv.MatterID, Currency: inv.Currency,
		Amount: info.Amount, Fee: info.Fee, Net: info.Amount - info.Fee, Method: info.Method, Status: "succeeded", Destination: inv.Destination,
		StripeID: cmp.Or(chargeID, si.ID), ChargeID: chargeID, Date: now.In(loc).Format(check.DateLayout), CreatedAt: now, RetainUntil: RetainUntil(now)}
	var prepared *trust.Prepared
	if inv.Destination == ToTrust {
		prepared, err = w.trust.PrepareDeposit(ctx, stripeActor(orgID), trust.EntryInput{AccountID: inv.TrustAccountID, ClientID: inv.ClientID,
			MatterID: inv.MatterID, Amount: info.Amount, Date: p.Date, Description: "Payment of invoice " + cmp.Or(inv.Number, inv.ID) + " (Stripe)",
			Counterparty: "Client, by " + cmp.Or(info.Method, "card"), Method: &trust.Method{Kind: trust.Card, Reference: p.StripeID}})
		if err != nil {
			return nil, nil, err
		}
		p.TrustEntryID = prepared.Entry.ID
	}
	items, err := w.svc.recordItems(orgID, p)
	return items, prepared, err
}

// chargeEvent records a charge's refunds, or a dispute, each as a record
// of its own against operating, linked to the payment of its charge. A
// charge not recorded yet (its invoice.paid still on the way) is retried.
func (w *Worker) chargeEvent(ctx context.Context, orgID string, ev stripego.Event) ([]types.TransactWriteItem, activity.Entry, error) {
	var obj struct {
		ID     string          `json:"id"`
		Charge json.RawMessage `json:"charge"`
		Amount int64           `json:"amount"`
		Status string          `json:"status"`
	}
	if err := json.Unmarshal(ev.Data.Raw, &obj); err != nil {
		return nil, activity.Entry{}, err
	}
	kind, chargeID := KindRefund, obj.ID
	if ev.Type == "charge.dispute.created" {
		var ch stripego.Charge // the dispute's charge: an id, or the object
		if err := json.Unmarshal(obj.Charge, &ch); err != nil {
			return nil, activity.Entry{}, err
		}
		kind, chargeID = KindDispute, ch.ID
	}
	var ref struct {
		PaymentID string `dynamodbav:"paymentId"`
	}
	err := w.svc.DB.Get(ctx, tenant.PK(orgID), refSK(chargeID), &ref)
	if errors.Is(err, store.ErrNotFound) {
		// A charge of a Matterly invoice whose invoice.paid is still on its
		// way is retried; a charge made outside Matterly is not ours to record.
		st, serr := w.svc.stripe()
		if serr != nil {
			return nil, activity.Entry{}, serr
		}
		info, cerr := st.Charge(ctx, ev.Account, chargeID)
		if cerr != nil {
			return nil, activity.Entry{}, cerr
		}
		if info.MatterlyInvoiceID == "" {
			w.svc.Log.Info("refund or dispute of a charge made outside Matterly", "eventId", ev.ID, "charge", chargeID)
			return nil, activity.Entry{}, nil
		}
		return nil, activity.Entry{}, fmt.Errorf("event %s: charge %s has no payment recorded yet", ev.ID, chargeID)
	}
	if err != nil {
		return nil, activity.Entry{}, err
	}
	var row paymentRow
	if err := w.svc.DB.Get(ctx, tenant.PK(orgID), paymentSK(ref.PaymentID), &row); err != nil {
		return nil, activity.Entry{}, err
	}
	orig := row.toPayment()
	loc, err := tenant.ReadZone(ctx, w.svc.DB, orgID)
	if err != nil {
		return nil, activity.Entry{}, err
	}
	now := w.svc.Now().UTC()
	base := Payment{Kind: kind, InvoiceID: orig.InvoiceID, ClientID: orig.ClientID, MatterID: orig.MatterID, Currency: orig.Currency,
		Method: orig.Method, Destination: ToOperating, ChargeID: chargeID, Date: now.In(loc).Format(check.DateLayout), CreatedAt: now, RetainUntil: RetainUntil(now)}
	var items []types.TransactWriteItem
	add := func(stripeID string, amount int64, status string) error {
		// A charge's later refund events list its earlier refunds again:
		// those are recorded already.
		var seen struct{}
		if err := w.svc.DB.Get(ctx, tenant.PK(orgID), refSK(stripeID), &seen); err == nil {
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		p := base
		p.ID, p.StripeID, p.Amount, p.Net, p.Status = w.svc.NewID(), stripeID, -amount, -amount, status
		more, err := w.svc.recordItems(orgID, p)
		items = append(items, more...)
		return err
	}
	if kind == KindDispute {
		err = add(obj.ID, obj.Amount, obj.Status)
	} else {
		// Since Stripe's API version 2022-11-15 a charge no longer carries
		// its refunds: ask for them.
		st, serr := w.svc.stripe()
		if serr != nil {
			return nil, activity.Entry{}, serr
		}
		refunds, rerr := st.Refunds(ctx, ev.Account, chargeID)
		if rerr != nil {
			return nil, activity.Entry{}, rerr
		}
		for _, r := range refunds {
			// Money that left, or is leaving: failed and canceled refunds did not.
			if err == nil && (r.Status == "succeeded" || r.Status == "pending") {
				err = add(r.ID, r.Amount, r.Status)
			}
		}
	}
	e := activity.Entry{Action: "payment." + kind, EntityType: "payment", EntityID: ref.PaymentID, ClientID: orig.ClientID, MatterID: orig.MatterID}
	return items, e, err
}

// Keys of payment records: the record, and one claim per Stripe object (a
// charge, refund or dispute is recorded once, whichever event brings it).
const paymentPf = "PAYMENT#"

func paymentSK(id string) string { return paymentPf + id }

func refSK(stripeID string) string { return "PAY#REF#" + stripeID }

func paymentsOfClientPK(orgID, clientID string) string {
	return tenant.PK(orgID) + "#CLIENT#" + clientID + "#PAY"
}

func paymentsOfInvoicePK(orgID, invoiceID string) string {
	return tenant.PK(orgID) + "#INV#" + invoiceID + "#PAY"
}

// recordItems are the writes of a payment record and its claim on the
// Stripe object it records.
func (s *Service) recordItems(orgID string, p Payment) ([]types.TransactWriteItem, error) {
	rec, err := s.DB.Put(toPaymentRow(orgID, p), store.NotExists())
	if err != nil {
		return nil, err
	}
	claim, err := s.DB.Put(struct {
		store.Keys
		PaymentID string `dynamodbav:"paymentId"`
	}{store.Keys{PK: tenant.PK(orgID), SK: refSK(p.StripeID), Type: "paymentRef"}, p.ID}, store.NotExists())
	return []types.TransactWriteItem{rec, claim}, err
}

// ListPayments pages through the payment records of an invoice or a
// client, newest first.
func (s *Service) ListPayments(ctx context.Context, orgID, invoiceID, clientID string, limit int32, start store.StartKey) ([]Payment, store.StartKey, error) {
	q := store.Query{Index: store.IndexGSI1, PK: paymentsOfClientPK(orgID, clientID), Limit: limit, StartKey: start}
	if invoiceID != "" {
		q = store.Query{Index: store.IndexGSI2, PK: paymentsOfInvoicePK(orgID, invoiceID), Limit: limit, StartKey: start}
	}
	var rows []paymentRow
	next, err := s.DB.QueryPage(ctx, q, &rows)
	out := make([]Payment, len(rows))
	for i, r := range rows {
		out[i] = r.toPayment()
	}
	return out, next, err
}

// RetentionYears is how long payment and invoice records are kept (tax
// and bar record-keeping rules ask for 5 to 7 years; the longest wins).
// Client erasure de-identifies these records instead of deleting them.
const RetentionYears = 7

// RetainUntil is the date before which a record made at t must be kept:
// the one retention rule the privacy work calls.
func RetainUntil(t time.Time) string {
	return t.UTC().AddDate(RetentionYears, 0, 0).Format(check.DateLayout)
}
