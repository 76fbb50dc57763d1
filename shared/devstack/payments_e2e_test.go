package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/matterly/matterly/shared/payments"
)

// invoiceBody is a POST /v1/invoices body for clientID.
func invoiceBody(clientID string, extra ...any) map[string]any {
	// Due a month after the test clock's today (other tests move it on).
	b := map[string]any{"clientId": clientID, "currency": "usd", "dueDate": clock.Now().AddDate(0, 1, 0).Format("2006-01-02"),
		"lineItems": []map[string]any{{"description": "Drafting the will", "quantity": 3, "unitAmount": 25000}, {"description": "Filing fee", "quantity": 1, "unitAmount": 4500}}}
	for i := 0; i+1 < len(extra); i += 2 {
		b[extra[i].(string)] = extra[i+1]
	}
	return b
}

// TestPaymentsConnectAndInvoice: a billing user connects Stripe (once, even
// when asked twice), invoices a client, and sends the invoice; every call
// goes to stripe-mock.
func TestPaymentsConnectAndInvoice(t *testing.T) {
	t.Parallel()
	owner := signup(t)
	billing := owner.member("billing")
	client, matter := clientAndMatter(owner)

	if r := billing.must(200, "GET", "/v1/payments/account", nil); str(r.Body, "status") != "not_connected" {
		t.Fatalf("account before connecting = %s", r.Raw)
	}
	if r := billing.do("POST", "/v1/invoices", invoiceBody(client)); r.Status != 409 || rule(r) != "payments.not-connected" {
		t.Fatalf("invoice before connecting = %d %s", r.Status, r.Raw)
	}
	c1 := billing.must(200, "POST", "/v1/payments/connect", map[string]any{}).Body
	c2 := billing.must(200, "POST", "/v1/payments/connect", map[string]any{}).Body
	if !strings.HasPrefix(str(c1, "onboardingUrl"), "https://") || !strings.HasPrefix(str(c1, "stripeAccountId"), "acct_") || str(c2, "stripeAccountId") != str(c1, "stripeAccountId") {
		t.Fatalf("connect = %v then %v", c1, c2)
	}
	acct := billing.must(200, "GET", "/v1/payments/account", nil).Body
	if str(acct, "stripeAccountId") != str(c1, "stripeAccountId") || str(acct, "status") == "not_connected" {
		t.Errorf("account = %v", acct)
	}
	if r := billing.do("POST", "/v1/payments/connect", map[string]any{"returnUrl": "https://evil.example/phish"}); r.Status != 422 || !strings.Contains(r.Raw, "returnUrl") {
		t.Errorf("foreign return URL = %d %s", r.Status, r.Raw)
	}

	inv := billing.must(201, "POST", "/v1/invoices", invoiceBody(client, "matterId", matter)).Body
	if num(inv, "total") != 3*25000+4500 || str(inv, "status") != "draft" || !strings.HasPrefix(str(inv, "stripeInvoiceId"), "in_") || str(inv, "syncError") != "" {
		t.Fatalf("invoice = %v", inv)
	}
	sent := billing.must(200, "POST", "/v1/invoices/"+str(inv, "id")+"/send", nil).Body
	// stripe-mock's fixture invoice has no hosted page URL; Stripe's has.
	if str(sent, "status") != "open" || str(sent, "stripeInvoiceId") != str(inv, "stripeInvoiceId") {
		t.Fatalf("sent = %v", sent)
	}
	if got := billing.must(200, "GET", "/v1/invoices/"+str(inv, "id"), nil).Body; str(got, "status") != "open" || str(got, "hostedUrl") != str(sent, "hostedUrl") {
		t.Errorf("read back = %v", got)
	}
	if ids := ids(billing.must(200, "GET", "/v1/invoices?clientId="+client, nil)); len(ids) != 1 || ids[0] != str(inv, "id") {
		t.Errorf("client's invoices = %v", ids)
	}
	voided := billing.must(200, "POST", "/v1/invoices/"+str(inv, "id")+"/void", nil).Body
	if str(voided, "status") != "void" {
		t.Errorf("voided = %v", voided)
	}
	if r := billing.do("POST", "/v1/invoices/"+str(inv, "id")+"/send", nil); r.Status != 409 {
		t.Errorf("sending a void invoice = %d", r.Status)
	}
	// Roles: only owner and billing connect Stripe; attorneys read invoices; staff nothing.
	staff, attorney := owner.member("staff"), owner.member("attorney")
	for _, c := range []struct {
		who          *account
		method, path string
		want         int
	}{
		{attorney, "POST", "/v1/payments/connect", 403},
		{owner.member("admin"), "GET", "/v1/payments/account", 403},
		{attorney, "GET", "/v1/invoices/" + str(inv, "id"), 200},
		{attorney, "POST", "/v1/invoices", 403},
		{staff, "GET", "/v1/invoices", 403},
	} {
		var body any
		if c.method == "POST" {
			body = map[string]any{}
		}
		if r := c.who.do(c.method, c.path, body); r.Status != c.want {
			t.Errorf("%s %s = %d, want %d: %s", c.method, c.path, r.Status, c.want, r.Raw)
		}
	}
}

func TestInvoiceValidation(t *testing.T) {
	t.Parallel()
	a := signup(t)
	client, _ := clientAndMatter(a)
	other := a.newClient("Other Client")
	otherMatter := a.newMatter(other)
	a.must(200, "POST", "/v1/payments/connect", map[string]any{})
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no lines", invoiceBody(client, "lineItems", []any{}), "lineItems"},
		{"zero quantity", invoiceBody(client, "lineItems", []map[string]any{{"description": "x", "quantity": 0, "unitAmount": 5}}), "lineItems[0].quantity"},
		{"fractional amount", invoiceBody(client, "lineItems", []map[string]any{{"description": "x", "quantity": 1, "unitAmount": 1.5}}), "lineItems.unitAmount"},
		{"total too large", invoiceBody(client, "lineItems", []map[string]any{{"description": "x", "quantity": 10000, "unitAmount": 1000000000000}}), "lineItems"},
		{"bad currency", invoiceBody(client, "currency", "dollars"), "currency"},
		{"past due date", invoiceBody(client, "dueDate", "2020-01-01"), "dueDate"},
		{"matter of another client", invoiceBody(client, "matterId", otherMatter), "matterId"},
		{"trust without account", invoiceBody(client, "destination", "trust"), "trustAccountId"},
		{"unknown destination", invoiceBody(client, "destination", "offshore"), "destination"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := countItems(t, a.orgID, "INV#")
			r := a.in(t).do("POST", "/v1/invoices", c.body)
			if r.Status != 422 || !strings.Contains(r.Raw, `"field":"`+c.field+`"`) {
				t.Errorf("= %d %s, want 422 naming %s", r.Status, r.Raw, c.field)
			}
			if countItems(t, a.orgID, "INV#") != before {
				t.Error("a refused invoice was stored")
			}
		})
	}
}

// TestStripeCallsPerInvoice pins what Matterly sends Stripe, call by call:
// every write on the connected account carries its Stripe-Account header
// and an idempotency key derived from Matterly's ids, so a retried request
// never creates a second account, customer, invoice or line.
func TestStripeCallsPerInvoice(t *testing.T) {
	a := signup(t)
	client, _ := clientAndMatter(a)
	n := stripeCalls.count()
	acct := str(a.must(200, "POST", "/v1/payments/connect", map[string]any{}).Body, "stripeAccountId")
	inv := str(a.must(201, "POST", "/v1/invoices", invoiceBody(client)).Body, "id")
	sent := a.must(200, "POST", "/v1/invoices/"+inv+"/send", nil).Body
	stripeID := str(sent, "stripeInvoiceId")
	second := str(a.must(201, "POST", "/v1/invoices", invoiceBody(client)).Body, "id")

	want := []stripeCall{
		{"POST", "/v1/accounts", "", "matterly-account-" + a.orgID, ""},
		{"POST", "/v1/account_links", "", "*", ""},                                // no key of ours: a link is not a write
		{"POST", "/v1/customers", acct, "matterly-customer-" + client + "-*", ""}, // plus a hash of the details sent
		{"POST", "/v1/invoices", acct, "matterly-invoice-" + inv, ""},
		{"POST", "/v1/invoiceitems", acct, "matterly-invoice-" + inv + "-line-0", ""},
		{"POST", "/v1/invoiceitems", acct, "matterly-invoice-" + inv + "-line-1", ""},
		{"POST", "/v1/invoices/" + stripeID + "/finalize", acct, "matterly-invoice-" + inv + "-finalize", ""},
		{"POST", "/v1/invoices/" + stripeID + "/send", acct, "matterly-invoice-" + inv + "-send-*", ""}, // plus the minute: one email per send
		// The client's customer is reused.
		{"POST", "/v1/invoices", acct, "matterly-invoice-" + second, ""},
		{"POST", "/v1/invoiceitems", acct, "matterly-invoice-" + second + "-line-0", ""},
		{"POST", "/v1/invoiceitems", acct, "matterly-invoice-" + second + "-line-1", ""},
	}
	got := stripeCalls.since(n)
	if len(got) != len(want) {
		t.Fatalf("%d Stripe calls, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Auth != "Bearer sk_test_matterly" {
			t.Errorf("call %d: Authorization %q", i, g.Auth)
		}
		key, prefix := strings.CutSuffix(w.IdempotencyKey, "*")
		if g.Method != w.Method || g.Path != w.Path || g.Account != w.Account || (!prefix && g.IdempotencyKey != key) || !strings.HasPrefix(g.IdempotencyKey, key) {
			t.Errorf("call %d = %+v, want %+v", i, g, w)
		}
	}
}

// webhookSecret is the tests' Stripe webhook signing secret.
const webhookSecret = "whsec_test_matterly"

// stripeEvent builds a Stripe event of a connected account.
func stripeEvent(id, typ, account string, created int64, object map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"id": id, "object": "event", "type": typ, "account": account, "created": created,
		"api_version": "2023-10-16", "livemode": false, "data": map[string]any{"object": object}})
	return b
}

// deliver posts a webhook signed with secret at time at, and runs the
// queue, as Stripe and then SQS would.
func deliver(t testing.TB, payload []byte, secret string, at time.Time) result {
	t.Helper()
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at})
	r := (&client{t: t}).do("POST", "/webhooks/stripe", string(payload), "Stripe-Signature", signed.Header)
	if err := stack.Broker.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// paidInvoice is Stripe's invoice object as invoice.* events carry it.
func stripeInvoice(stripeID, matterlyID, status string, paid int64) map[string]any {
	return map[string]any{"id": stripeID, "object": "invoice", "status": status, "amount_paid": paid, "charge": "ch_" + matterlyID,
		"number": "MAT-0001", "hosted_invoice_url": "https://invoice.stripe.com/i/test", "metadata": map[string]any{"matterlyInvoiceId": matterlyID}}
}

// TestStripeWebhookPaysInvoiceOnce is the acceptance flow: a signed
// invoice.paid webhook, sent twice, marks the invoice paid once and records
// one payment; older events arriving later change nothing; a wrong secret
// or a stale signature is refused and stores nothing.
func TestStripeWebhookPaysInvoiceOnce(t *testing.T) {
	a := signup(t)
	client, matter := clientAndMatter(a)
	acct := str(a.must(200, "POST", "/v1/payments/connect", map[string]any{}).Body, "stripeAccountId")
	inv := a.must(201, "POST", "/v1/invoices", invoiceBody(client, "matterId", matter)).Body
	id, sid := str(inv, "id"), str(inv, "stripeInvoiceId")
	a.must(200, "POST", "/v1/invoices/"+id+"/send", nil)
	now := time.Now()

	paid := stripeEvent("evt_paid_"+id, "invoice.paid", acct, now.Unix(), stripeInvoice(sid, id, "paid", 79500))
	for _, bad := range []struct {
		name   string
		secret string
		at     time.Time
	}{{"wrong secret", "whsec_other", now}, {"stale signature", webhookSecret, now.Add(-6 * time.Minute)}} {
		before := countItems(t, a.orgID, "")
		if r := deliver(t, paid, bad.secret, bad.at); r.Status != 400 {
			t.Errorf("%s: %d %s", bad.name, r.Status, r.Raw)
		}
		if countItems(t, a.orgID, "") != before {
			t.Errorf("%s: something was stored", bad.name)
		}
	}
	paidFrom := clock.Now().UTC()
	for range 2 {
		if r := deliver(t, paid, webhookSecret, now); r.Status != 200 {
			t.Fatalf("webhook = %d %s", r.Status, r.Raw)
		}
	}
	// invoice.finalized, older than the payment, arrives last.
	deliver(t, stripeEvent("evt_final_"+id, "invoice.finalized", acct, now.Unix()-60, stripeInvoice(sid, id, "open", 0)), webhookSecret, now)

	got := a.must(200, "GET", "/v1/invoices/"+id, nil).Body
	if str(got, "status") != "paid" || str(got, "number") != "MAT-0001" {
		t.Errorf("invoice after the webhooks = %v", got)
	}
	pays := items(a.must(200, "GET", "/v1/payments?invoiceId="+id, nil))
	if len(pays) != 1 || num(pays[0], "amount") != 79500 || str(pays[0], "kind") != "payment" || str(pays[0], "destination") != "operating" {
		t.Fatalf("payments = %v", pays)
	}
	retain := str(pays[0], "retainUntil") // 7 years after it was recorded (UTC midnight may fall in between)
	if p := pays[0]; num(p, "net") != num(p, "amount")-num(p, "fee") ||
		(retain != paidFrom.AddDate(7, 0, 0).Format("2006-01-02") && retain != clock.Now().UTC().AddDate(7, 0, 0).Format("2006-01-02")) {
		t.Errorf("payment = %v", p)
	}
	if n := len(items(a.must(200, "GET", "/v1/payments?clientId="+client, nil))); n != 1 {
		t.Errorf("%d payments of the client", n)
	}
	for _, m := range stack.Broker.DLQ("stripe-events") {
		if strings.Contains(m.Body, id) {
			t.Errorf("an event of this test is in the DLQ: %s", m.Body)
		}
	}
}

// TestStripeWebhookIntoTrust: a retainer paid by card lands in the client's
// trust ledger at the full amount, in the same transaction as its payment
// record; Stripe's fee stays on the operating side.
func TestStripeWebhookIntoTrust(t *testing.T) {
	a := signup(t)
	client, matter := clientAndMatter(a)
	tacct := a.trustAccount()
	acct := str(a.must(200, "POST", "/v1/payments/connect", map[string]any{}).Body, "stripeAccountId")
	inv := a.must(201, "POST", "/v1/invoices", invoiceBody(client, "matterId", matter, "destination", "trust", "trustAccountId", tacct,
		"lineItems", []map[string]any{{"description": "Retainer", "quantity": 1, "unitAmount": 250000}})).Body
	id := str(inv, "id")
	deliver(t, stripeEvent("evt_trust_"+id, "invoice.paid", acct, time.Now().Unix(), stripeInvoice(str(inv, "stripeInvoiceId"), id, "paid", 250000)), webhookSecret, time.Now())

	pays := items(a.must(200, "GET", "/v1/payments?invoiceId="+id, nil))
	if len(pays) != 1 || str(pays[0], "trustEntryId") == "" {
		t.Fatalf("payments = %v", pays)
	}
	if b := balanceOf(t, a, tacct, client, matter); b != 250000 {
		t.Errorf("matter trust balance %d, want the gross 250000", b)
	}
	e := a.must(200, "GET", "/v1/trust/entries/"+str(pays[0], "trustEntryId"), nil).Body
	if str(e, "type") != "deposit" || num(e, "amount") != 250000 || str(e, "enteredBy") != "stripe" {
		t.Errorf("trust entry = %v", e)
	}
}

// TestStripeWebhookRefusals: anything not signed by Stripe, or too large
// for the queue, is refused before it is read, and stores nothing.
func TestStripeWebhookRefusals(t *testing.T) {
	before := itemCount(t)
	writes := 0
	c := &client{t: t}
	ok := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(`{"id":"evt_1"}`), Secret: webhookSecret}).Header
	for _, tc := range []struct {
		name, body, sig string
		want            int
	}{
		{"no signature", `{"id":"evt_1","type":"invoice.paid"}`, "", 400},
		{"signature of another body", `{"id":"evt_2"}`, ok, 400},
		{"garbage signature", `{"id":"evt_1"}`, "t=1,v1=abc", 400},
		{"too large", `{"id":"` + strings.Repeat("x", 300<<10) + `"}`, ok, 413},
	} {
		r := c.do("POST", "/webhooks/stripe", tc.body, "Stripe-Signature", tc.sig)
		if r.Status != tc.want || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s", tc.name, r.Status, r.Raw)
		}
		writes += calls.WritesOf(r)
	}
	if stack.Broker.Depth("stripe-events") != 0 || writes != 0 || itemCount(t) != before {
		t.Error("a refused webhook queued or wrote something")
	}
}

// TestStripeRefundsAndDisputes: each refund and dispute is a record of its
// own, against operating, recorded once even when a later event lists it
// again; the payment itself is never edited. (A refund arriving before
// its payment is retried: TestWorkerRetriesWhatIsNotKnownYet.)
func TestStripeRefundsAndDisputes(t *testing.T) {
	a := signup(t)
	client, _ := clientAndMatter(a)
	acct := str(a.must(200, "POST", "/v1/payments/connect", map[string]any{}).Body, "stripeAccountId")
	inv := a.must(201, "POST", "/v1/invoices", invoiceBody(client)).Body
	id := str(inv, "id")
	now := time.Now()
	// Since API version 2022-11-15 a charge event carries no refunds: the
	// worker lists them from Stripe (stripe-mock lists one of 100).
	charge := map[string]any{"id": "ch_" + id, "object": "charge", "amount_refunded": 100}
	deliver(t, stripeEvent("evt_p_"+id, "invoice.paid", acct, now.Unix(), stripeInvoice(str(inv, "stripeInvoiceId"), id, "paid", 79500)), webhookSecret, now)
	deliver(t, stripeEvent("evt_r1_"+id, "charge.refunded", acct, now.Unix(), charge), webhookSecret, now)
	deliver(t, stripeEvent("evt_r2_"+id, "charge.refunded", acct, now.Unix(), charge), webhookSecret, now)
	deliver(t, stripeEvent("evt_d_"+id, "charge.dispute.created", acct, now.Unix(),
		map[string]any{"id": "dp_" + id, "object": "dispute", "amount": 79500, "status": "needs_response", "charge": "ch_" + id}), webhookSecret, now)

	byKind := map[string][]int64{}
	for _, p := range items(a.must(200, "GET", "/v1/payments?invoiceId="+id, nil)) {
		byKind[str(p, "kind")] = append(byKind[str(p, "kind")], int64(num(p, "amount")))
		if str(p, "kind") != "payment" && str(p, "destination") != "operating" {
			t.Errorf("%v is not against operating", p)
		}
	}
	if fmt.Sprint(byKind) != "map[dispute:[-79500] payment:[79500] refund:[-100]]" {
		t.Errorf("records by kind = %v", byKind)
	}
}

// BenchmarkStripeWebhookPaid: a signed invoice.paid, from Stripe's POST to
// the payment recorded: signature check and queueing, then the worker's
// event claim, invoice update, charge read from stripe-mock, payment record
// and activity entry in one transaction.
func BenchmarkStripeWebhookPaid(b *testing.B) {
	a := signup(b)
	client, _ := clientAndMatter(a)
	acct := str(a.must(200, "POST", "/v1/payments/connect", map[string]any{}).Body, "stripeAccountId")
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		inv := a.must(201, "POST", "/v1/invoices", invoiceBody(client)).Body
		ev := stripeEvent("evt_b_"+str(inv, "id"), "invoice.paid", acct, time.Now().Unix(), stripeInvoice(str(inv, "stripeInvoiceId"), str(inv, "id"), "paid", 79500))
		b.StartTimer()
		t1 := time.Now()
		if r := deliver(b, ev, webhookSecret, time.Now()); r.Status != 200 {
			b.Fatalf("webhook %d", r.Status)
		}
		lat = append(lat, time.Since(t1))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)-1)*99/100].Microseconds())/1000, "p99-ms")
}

// TestInvoiceIdempotencyKey: a retried create (same key, same body) answers
// the invoice already made, without a second invoice in Matterly or on
// Stripe, even when the copies arrive at once; another body under the key
// is refused.
func TestInvoiceIdempotencyKey(t *testing.T) {
	a := signup(t)
	client, _ := clientAndMatter(a)
	a.must(200, "POST", "/v1/payments/connect", map[string]any{})
	body := invoiceBody(client)
	first := a.do("POST", "/v1/invoices", body, "Idempotency-Key", "inv-retry-1")
	n := stripeCalls.count()
	again := a.do("POST", "/v1/invoices", body, "Idempotency-Key", "inv-retry-1")
	if first.Status != 201 || again.Status != 201 || str(again.Body, "id") != str(first.Body, "id") || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %s / %d %s", first.Status, first.Raw, again.Status, again.Raw)
	}
	if got := stripeCalls.since(n); len(got) != 0 {
		t.Errorf("a replay called Stripe: %+v", got)
	}
	other := invoiceBody(client, "dueDate", clock.Now().AddDate(0, 2, 0).Format("2006-01-02"))
	if r := a.do("POST", "/v1/invoices", other, "Idempotency-Key", "inv-retry-1"); r.Status != 409 || rule(r) != "idempotency-key-reused" {
		t.Errorf("same key, other body = %d %s", r.Status, r.Raw)
	}
	st := parallel(5, func(int) result { return a.do("POST", "/v1/invoices", other, "Idempotency-Key", "inv-burst") })
	for _, s := range st {
		if s != 201 {
			t.Errorf("concurrent copies: %v", st)
			break
		}
	}
	if n := len(items(a.must(200, "GET", "/v1/invoices?clientId="+client, nil))); n != 2 {
		t.Errorf("%d invoices, want 2", n)
	}
}

// TestOverdueInvoices: what the reminder schedule will read: sent invoices
// past their due date and still owed, oldest first; drafts, paid and void
// invoices are not reminded of.
func TestOverdueInvoices(t *testing.T) {
	a := signup(t)
	client, _ := clientAndMatter(a)
	acct := str(a.must(200, "POST", "/v1/payments/connect", map[string]any{}).Body, "stripeAccountId")
	due := func(days int) map[string]any {
		return invoiceBody(client, "dueDate", clock.Now().In(mustLoc(t, "America/New_York")).AddDate(0, 0, days).Format("2006-01-02"))
	}
	create := func(days int, send bool) string {
		id := str(a.must(201, "POST", "/v1/invoices", due(days)).Body, "id")
		if send {
			a.must(200, "POST", "/v1/invoices/"+id+"/send", nil)
		}
		return id
	}
	late, later, draft, paid, voided := create(1, true), create(2, true), create(1, false), create(1, true), create(1, true)
	inv := a.must(200, "GET", "/v1/invoices/"+paid, nil).Body
	deliver(t, stripeEvent("evt_o_"+paid, "invoice.paid", acct, time.Now().Unix(), stripeInvoice(str(inv, "stripeInvoiceId"), paid, "paid", 79500)), webhookSecret, time.Now())
	a.must(200, "POST", "/v1/invoices/"+voided+"/void", nil)
	clock.Advance(4 * 24 * time.Hour)

	svc := payments.NewService(stack.Deps.DB, stack.Deps.Log, clock.Now, nil, "")
	today := clock.Now().In(mustLoc(t, "America/New_York")).Format("2006-01-02")
	got, _, err := svc.OverdueInvoices(context.Background(), a.orgID, today, 25, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, inv := range got {
		ids = append(ids, inv.ID)
	}
	if !slices.Equal(ids, []string{late, later}) {
		t.Errorf("overdue = %v, want %v (not the draft %s, paid %s or void %s)", ids, []string{late, later}, draft, paid, voided)
	}
}
