package devstack

import (
	"strings"
	"testing"
)

// invoiceBody is a POST /v1/invoices body for clientID.
func invoiceBody(clientID string, extra ...any) map[string]any {
	b := map[string]any{"clientId": clientID, "currency": "usd", "dueDate": "2027-01-15",
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
		{"POST", "/v1/account_links", "", "*", ""},
		{"POST", "/v1/customers", acct, "matterly-customer-" + client, ""},
		{"POST", "/v1/invoices", acct, "matterly-invoice-" + inv, ""},
		{"POST", "/v1/invoiceitems", acct, "matterly-invoice-" + inv + "-line-0", ""},
		{"POST", "/v1/invoiceitems", acct, "matterly-invoice-" + inv + "-line-1", ""},
		{"POST", "/v1/invoices/" + stripeID + "/finalize", acct, "matterly-invoice-" + inv + "-finalize", ""},
		{"POST", "/v1/invoices/" + stripeID + "/send", acct, "matterly-invoice-" + inv + "-send", ""},
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
		if g.Method != w.Method || g.Path != w.Path || g.Account != w.Account || (w.IdempotencyKey != "*" && g.IdempotencyKey != w.IdempotencyKey) {
			t.Errorf("call %d = %+v, want %+v", i, g, w)
		}
	}
}
