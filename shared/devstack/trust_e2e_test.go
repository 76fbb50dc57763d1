package devstack

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// trustAccount opens a trust bank account for a's org and returns its id.
func (a *account) trustAccount() string {
	a.t.Helper()
	r := a.must(201, "POST", "/v1/trust/accounts", map[string]any{"name": "IOLTA Trust", "bankName": "First Bank", "accountLast4": "4821", "currency": "USD"})
	return str(r.Body, "id")
}

// entry is a POST /v1/trust/entries body; extra are key, value pairs that
// set or (with a nil value) drop fields.
func entry(accountID, clientID, typ string, amount int64, extra ...any) map[string]any {
	b := map[string]any{"accountId": accountID, "clientId": clientID, "type": typ, "amount": amount, "date": "2026-11-02",
		"description": "Retainer", "counterparty": "Pat Client", "method": map[string]any{"kind": "wire", "reference": "FW-1"}}
	if typ == "transfer" || typ == "bankFee" || typ == "interest" {
		delete(b, "method")
		delete(b, "counterparty")
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == nil {
			delete(b, extra[i].(string))
			continue
		}
		b[extra[i].(string)] = extra[i+1]
	}
	return b
}

func checkNo(n string) map[string]any { return map[string]any{"kind": "check", "reference": n} }

// rule is the rule a refusal names.
func rule(r result) string { return str(r.Body, "rule") }

// balanceOf reads one ledger's balance: client, or matter when matterID is set.
func balanceOf(t testing.TB, a *account, accountID, clientID, matterID string) int64 {
	t.Helper()
	q := "/v1/trust/ledgers?accountId=" + accountID + "&clientId=" + clientID
	if matterID != "" {
		q += "&matterId=" + matterID
	}
	return int64(num(a.must(200, "GET", q, nil).Body, "balance"))
}

func reconcile(t testing.TB, a *account, accountID, asOf string, bank int64) map[string]any {
	t.Helper()
	return a.must(200, "GET", fmt.Sprintf("/v1/trust/reconciliation?accountId=%s&asOf=%s&bankBalance=%d", accountID, asOf, bank), nil).Body
}

// TestTrustDoneWhen is the acceptance flow: a billing user records a
// deposit, a disbursement by check, a refused overdraft, a reversal, and a
// reconciliation that balances and is signed off.
func TestTrustDoneWhen(t *testing.T) {
	t.Parallel()
	owner := signup(t)
	billing := owner.member("billing")
	client, matter := clientAndMatter(owner)
	acct := billing.trustAccount()

	dep := billing.must(201, "POST", "/v1/trust/entries", entry(acct, client, "deposit", 500000, "matterId", matter,
		"method", checkNo("20417"), "date", "2026-11-02")).Body
	if num(dep, "change") != 500000 || str(dep, "currency") != "usd" || str(dep, "enteredBy") != billing.userID {
		t.Fatalf("deposit = %v", dep)
	}
	dis := billing.must(201, "POST", "/v1/trust/entries", entry(acct, client, "disbursement", 120000, "matterId", matter,
		"method", checkNo("1001"), "counterparty", "County Court", "description", "Filing fee", "date", "2026-11-05")).Body
	if num(dis, "change") != -120000 {
		t.Fatalf("disbursement change = %v", dis["change"])
	}
	over := billing.do("POST", "/v1/trust/entries", entry(acct, client, "disbursement", 400000, "matterId", matter, "method", checkNo("1002"), "date", "2026-11-06"))
	if over.Status != 409 || rule(over) != "trust.no-negative-balance" || !strings.Contains(str(over.Body, "detail"), "3800.00 USD") {
		t.Fatalf("overdraft = %d %s", over.Status, over.Raw)
	}
	rev := billing.must(201, "POST", "/v1/trust/entries/"+str(dis, "id")+"/reverse", map[string]any{"reason": "Check printed with the wrong amount", "date": "2026-11-07"}).Body
	if str(rev, "type") != "reversal" || str(rev, "reversalOf") != str(dis, "id") || num(rev, "change") != 120000 {
		t.Fatalf("reversal = %v", rev)
	}
	if got := balanceOf(t, billing, acct, client, matter); got != 500000 {
		t.Fatalf("matter balance after the reversal = %d, want 500000", got)
	}
	// The deposit cleared on the November statement; the reversed check
	// never reached the bank, so nothing is outstanding.
	billing.must(200, "POST", "/v1/trust/entries/"+str(dep, "id")+"/clear", map[string]any{"statementDate": "2026-11-10"})
	rec := reconcile(t, billing, acct, "2026-11-20", 500000)
	if rec["balanced"] != true || num(rec, "journalBalance") != 500000 || num(rec, "clientLedgersTotal") != 500000 || len(rec["uncleared"].([]any)) != 0 {
		t.Fatalf("reconciliation = %v", rec)
	}
	signed := billing.must(201, "POST", "/v1/trust/reconciliations", map[string]any{"accountId": acct, "asOf": "2026-11-20", "bankBalance": 500000}).Body
	if str(signed, "signedOffBy") != billing.userID || str(signed, "id") == "" || signed["balanced"] != true {
		t.Fatalf("sign-off = %v", signed)
	}
	// The journal reads as an append-only history with running balances.
	j := items(billing.must(200, "GET", "/v1/trust/entries?accountId="+acct, nil))
	var got []string
	for _, e := range j {
		got = append(got, fmt.Sprintf("%s %v %v", e["type"], e["change"], e["balance"]))
	}
	want := []string{"deposit 500000 500000", "disbursement -120000 380000", "reversal 120000 500000"}
	if !slices.Equal(got, want) {
		t.Errorf("journal = %v, want %v", got, want)
	}
	if e := billing.must(200, "GET", "/v1/trust/entries/"+str(dis, "id"), nil).Body; str(e, "reversedBy") != str(rev, "id") || str(e, "clearedOn") != "2026-11-07" {
		t.Errorf("reversed entry = %v", e)
	}
}

// TestTrustConcurrentDisbursements: 100 disbursements at once against a
// balance that covers 10 of them leave exactly 10 and a balance of zero.
func TestTrustConcurrentDisbursements(t *testing.T) {
	t.Parallel()
	a := signup(t)
	client, matter := clientAndMatter(a)
	acct := a.trustAccount()
	a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "deposit", 10*2500, "matterId", matter))
	st := parallel(100, func(i int) result {
		return a.do("POST", "/v1/trust/entries", entry(acct, client, "disbursement", 2500, "matterId", matter,
			"method", checkNo(fmt.Sprint(5000+i)), "description", fmt.Sprintf("Payment %d", i)))
	})
	var ok, refused int
	for _, s := range st {
		switch s {
		case 201:
			ok++
		case 409:
			refused++
		default:
			t.Errorf("status %d", s)
		}
	}
	if ok != 10 || refused != 90 {
		t.Fatalf("%d recorded, %d refused; want 10 and 90", ok, refused)
	}
	if b := balanceOf(t, a, acct, client, ""); b != 0 {
		t.Errorf("client balance %d, want 0", b)
	}
	if b := balanceOf(t, a, acct, client, matter); b != 0 {
		t.Errorf("matter balance %d, want 0", b)
	}
	if n := countItems(t, a.orgID, "TRUST#E#"); n != 11 {
		t.Errorf("%d entries, want 11", n)
	}
	if rec := reconcile(t, a, acct, "2026-11-02", 0); rec["balanced"] != true {
		// Nothing cleared: the deposit is in transit, the checks outstanding.
		t.Errorf("reconciliation = %v", rec)
	}
}

func TestTrustReversalChains(t *testing.T) {
	t.Parallel()
	a := signup(t)
	client, matter := clientAndMatter(a)
	other := a.newClient("Other Client")
	acct := a.trustAccount()
	dep := str(a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "deposit", 1000)).Body, "id")

	r1 := str(a.must(201, "POST", "/v1/trust/entries/"+dep+"/reverse", map[string]any{"reason": "Duplicate", "date": "2026-11-02"}).Body, "id")
	if r := a.do("POST", "/v1/trust/entries/"+dep+"/reverse", map[string]any{"reason": "Again"}); r.Status != 409 || rule(r) != "trust.already-reversed" {
		t.Fatalf("second reversal = %d %s", r.Status, r.Raw)
	}
	// Reversing the reversal reinstates the deposit.
	a.must(201, "POST", "/v1/trust/entries/"+r1+"/reverse", map[string]any{"reason": "It was not a duplicate", "date": "2026-11-02"})
	if b := balanceOf(t, a, acct, client, ""); b != 1000 {
		t.Fatalf("balance after reversing the reversal = %d, want 1000", b)
	}
	// A deposit already spent cannot be reversed: the ledger would go negative.
	dep2 := str(a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "deposit", 500, "matterId", matter)).Body, "id")
	a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "disbursement", 400, "matterId", matter))
	if r := a.do("POST", "/v1/trust/entries/"+dep2+"/reverse", map[string]any{"reason": "Bounced"}); r.Status != 409 || rule(r) != "trust.no-negative-balance" {
		t.Fatalf("reversing a spent deposit = %d %s", r.Status, r.Raw)
	}
	// A transfer is two legs; reversing either reverses both.
	tr := a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "transfer", 300, "toClientId", other, "description", "Shared settlement")).Body
	if b := balanceOf(t, a, acct, other, ""); b != 300 {
		t.Fatalf("transfer destination balance = %d", b)
	}
	a.must(201, "POST", "/v1/trust/entries/"+str(tr, "counterpartId")+"/reverse", map[string]any{"reason": "Wrong client", "date": "2026-11-03"})
	if b, c := balanceOf(t, a, acct, other, ""), balanceOf(t, a, acct, client, ""); b != 0 || c != 1100 {
		t.Fatalf("after reversing the transfer: other %d (want 0), client %d (want 1100)", b, c)
	}
	if r := a.do("POST", "/v1/trust/entries/"+str(tr, "id")+"/reverse", map[string]any{"reason": "x"}); r.Status != 409 || rule(r) != "trust.already-reversed" {
		t.Fatalf("reversing the other leg again = %d %s", r.Status, r.Raw)
	}
	// Money cannot leave a ledger dated before its latest entry (here the
	// transfer's reversal, on Nov 3): the balance on the days between would
	// have been below zero. Money may come in with an earlier date.
	if r := a.do("POST", "/v1/trust/entries", entry(acct, client, "disbursement", 1, "date", "2026-11-02")); r.Status != 409 || rule(r) != "trust.backdated-outflow" || !strings.Contains(r.Raw, "2026-11-03") {
		t.Errorf("backdated disbursement = %d %s", r.Status, r.Raw)
	}
	a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "deposit", 1, "date", "2026-10-15"))
	// Transfers never touch the bank; clearing one is refused.
	if r := a.do("POST", "/v1/trust/entries/"+str(tr, "id")+"/clear", map[string]any{"statementDate": "2026-11-05"}); r.Status != 409 || rule(r) != "trust.not-a-bank-item" {
		t.Errorf("clearing a transfer = %d %s", r.Status, r.Raw)
	}
}

func TestTrustCheckNumbersAndIdempotency(t *testing.T) {
	t.Parallel()
	a := signup(t)
	client, _ := clientAndMatter(a)
	acct := a.trustAccount()
	a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "deposit", 100000))
	a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "disbursement", 100, "method", checkNo("1001")))
	r := a.do("POST", "/v1/trust/entries", entry(acct, client, "disbursement", 200, "method", checkNo("1001")))
	if r.Status != 409 || rule(r) != "trust.check-number-used" {
		t.Fatalf("reused check number = %d %s", r.Status, r.Raw)
	}
	a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "disbursement", 200,
		"method", map[string]any{"kind": "check", "reference": "1001", "reissue": true, "reissueReason": "Original check lost in the mail"}))
	log := a.must(200, "GET", "/v1/trust/activity", nil).Raw
	if !strings.Contains(log, "check 1001 re-issued: Original check lost in the mail") {
		t.Errorf("re-issue reason not in the trust log: %s", log)
	}
	// Deposits by check carry the payer's number, which may repeat.
	a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "deposit", 10, "method", checkNo("1001")))

	body := entry(acct, client, "deposit", 777)
	first := a.do("POST", "/v1/trust/entries", body, "Idempotency-Key", "retry-abc")
	again := a.do("POST", "/v1/trust/entries", body, "Idempotency-Key", "retry-abc")
	if first.Status != 201 || again.Status != 201 || str(first.Body, "id") != str(again.Body, "id") || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %s / %d %s", first.Status, first.Raw, again.Status, again.Raw)
	}
	body["amount"] = 778
	if r := a.do("POST", "/v1/trust/entries", body, "Idempotency-Key", "retry-abc"); r.Status != 409 || rule(r) != "idempotency-key-reused" {
		t.Errorf("same key, other request = %d %s", r.Status, r.Raw)
	}
	// The same request sent twice at once is still recorded once.
	body["amount"] = 779
	st := parallel(8, func(int) result { return a.do("POST", "/v1/trust/entries", body, "Idempotency-Key", "burst-1") })
	for _, s := range st {
		if s != 201 {
			t.Errorf("concurrent retry status %d", s)
		}
	}
	if b := balanceOf(t, a, acct, client, ""); b != 100000-100-200+10+777+779 {
		t.Errorf("balance %d: an idempotent retry was counted twice", b)
	}
	// A retried disbursement that spends the whole balance by check: the
	// copies that lose the race replay the entry the winner recorded; they
	// are not refused for the balance or the check number it just used.
	all := balanceOf(t, a, acct, client, "")
	pay := entry(acct, client, "disbursement", all, "method", checkNo("555"))
	st = parallel(6, func(int) result { return a.do("POST", "/v1/trust/entries", pay, "Idempotency-Key", "pay-all") })
	for _, s := range st {
		if s != 201 {
			t.Errorf("concurrent retries of one disbursement: statuses %v, want all 201", st)
			break
		}
	}
	if b := balanceOf(t, a, acct, client, ""); b != 0 {
		t.Errorf("balance after paying it all out once: %d", b)
	}
}

// TestTrustReconciliationFindsDiscrepancies: a statement that disagrees,
// and a ledger tampered with behind the application's back, are both found
// and named; neither can be signed off.
func TestTrustReconciliationFindsDiscrepancies(t *testing.T) {
	t.Parallel()
	a := signup(t)
	client, matter := clientAndMatter(a)
	acct := a.trustAccount()
	dep := str(a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "deposit", 90000, "matterId", matter, "date", "2026-11-01")).Body, "id")
	chk := str(a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "disbursement", 15000, "matterId", matter, "method", checkNo("301"), "date", "2026-11-03")).Body, "id")
	a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "deposit", 5000, "date", "2026-11-09"))
	a.must(200, "POST", "/v1/trust/entries/"+dep+"/clear", map[string]any{"statementDate": "2026-11-05"})

	// As of Nov 5: the deposit cleared, check 301 is outstanding, and the
	// Nov 9 deposit is not counted yet.
	rec := reconcile(t, a, acct, "2026-11-05", 90000)
	if rec["balanced"] != true || num(rec, "journalBalance") != 75000 || num(rec, "outstandingChecks") != 15000 || num(rec, "adjustedBankBalance") != 75000 {
		t.Fatalf("Nov 5 = %v", rec)
	}
	if u := rec["uncleared"].([]any); len(u) != 1 || str(u[0].(map[string]any), "entryId") != chk {
		t.Errorf("uncleared = %v", u)
	}
	// The bank says 100 less: found, as the amount and the kind.
	rec = reconcile(t, a, acct, "2026-11-05", 89900)
	d := rec["differences"].([]any)
	if rec["balanced"] != false || len(d) != 1 || str(d[0].(map[string]any), "kind") != "bankToJournal" || num(d[0].(map[string]any), "amount") != -100 {
		t.Fatalf("discrepancy not found: %v", rec)
	}
	r := a.do("POST", "/v1/trust/reconciliations", map[string]any{"accountId": acct, "asOf": "2026-11-05", "bankBalance": 89900})
	if r.Status != 409 || rule(r) != "trust.reconciliation-unbalanced" {
		t.Fatalf("signing off an unbalanced reconciliation = %d %s", r.Status, r.Raw)
	}
	// Tamper with the client's stored total, as a bug or a bad actor with
	// table access might: the reconciliation names the ledger.
	_, err := stack.Dynamo.Client().UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: aws.String(store.DefaultTableName),
		Key: store.Key(tenant.PK(a.orgID), "TRUST#L#"+acct+"#"+client), UpdateExpression: aws.String("ADD balance :x"),
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":x": store.N(700)}})
	if err != nil {
		t.Fatal(err)
	}
	rec = reconcile(t, a, acct, "2026-11-20", 95000)
	kinds := map[string]float64{}
	for _, x := range rec["differences"].([]any) {
		kinds[str(x.(map[string]any), "kind")] = num(x.(map[string]any), "amount")
	}
	if rec["balanced"] != false || kinds["ledgerToMatters"] != 700 || kinds["journalToLedgers"] != -700 {
		t.Errorf("tampered ledger not found: %v", rec)
	}
}

func TestTrustLockedPeriod(t *testing.T) {
	t.Parallel()
	a := signup(t)
	client, _ := clientAndMatter(a)
	acct := a.trustAccount()
	dep := str(a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "deposit", 4000, "date", "2026-10-20")).Body, "id")
	chk := str(a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "disbursement", 1000, "method", checkNo("77"), "date", "2026-10-25")).Body, "id")
	a.must(200, "POST", "/v1/trust/entries/"+dep+"/clear", map[string]any{"statementDate": "2026-10-31"})
	a.must(201, "POST", "/v1/trust/reconciliations", map[string]any{"accountId": acct, "asOf": "2026-10-31", "bankBalance": 4000})

	for name, req := range map[string]func() result{
		"entry dated in the period": func() result {
			return a.do("POST", "/v1/trust/entries", entry(acct, client, "deposit", 1, "date", "2026-10-31"))
		},
		"reversal dated in the period": func() result {
			return a.do("POST", "/v1/trust/entries/"+chk+"/reverse", map[string]any{"reason": "x", "date": "2026-10-30"})
		},
		"clearing on a signed-off statement": func() result {
			return a.do("POST", "/v1/trust/entries/"+chk+"/clear", map[string]any{"statementDate": "2026-10-31"})
		},
		"signing off the same date again": func() result {
			return a.do("POST", "/v1/trust/reconciliations", map[string]any{"accountId": acct, "asOf": "2026-10-31", "bankBalance": 4000})
		},
	} {
		if r := req(); r.Status != 409 || rule(r) != "trust.period-locked" || !strings.Contains(r.Raw, "2026-10-31") {
			t.Errorf("%s = %d %s", name, r.Status, r.Raw)
		}
	}
	// A reversal dated after the reconciliation is allowed, and shows up in
	// the next one: the check it voids was outstanding, so both clear.
	a.must(201, "POST", "/v1/trust/entries/"+chk+"/reverse", map[string]any{"reason": "Check voided", "date": "2026-11-02"})
	rec := reconcile(t, a, acct, "2026-11-15", 4000)
	if rec["balanced"] != true || num(rec, "journalBalance") != 4000 {
		t.Errorf("next reconciliation = %v", rec)
	}
	// The signed-off record did not change.
	recs := items(a.must(200, "GET", "/v1/trust/reconciliations?accountId="+acct, nil))
	if len(recs) != 1 || num(recs[0], "journalBalance") != 3000 || num(recs[0], "outstandingChecks") != 1000 || recs[0]["ledgers"] != nil {
		t.Errorf("signed-off records = %v", recs)
	}
	full := items(a.must(200, "GET", "/v1/trust/reconciliations?accountId="+acct+"&asOf=2026-10-31", nil))
	if len(full) != 1 || fmt.Sprint(full[0]["ledgers"]) != fmt.Sprintf("[map[balance:3000 clientId:%s]]", client) {
		t.Errorf("the record of 2026-10-31 = %v", full)
	}
}

func TestTrustRoles(t *testing.T) {
	t.Parallel()
	owner := signup(t)
	staff, attorney, billing := owner.member("staff"), owner.member("attorney"), owner.member("billing")
	client := owner.newClient("Role Client")
	theirs := owner.newMatter(client, "responsibleAttorneyId", attorney.userID)
	notTheirs := owner.newMatter(client)
	acct := owner.trustAccount()
	dep := str(billing.must(201, "POST", "/v1/trust/entries", entry(acct, client, "deposit", 500, "matterId", theirs)).Body, "id")

	for _, c := range []struct {
		who          *account
		method, path string
		body         any
		want         int
	}{
		{staff, "GET", "/v1/trust/accounts", nil, 403},
		{staff, "GET", "/v1/trust/entries?accountId=" + acct, nil, 403},
		{staff, "GET", "/v1/trust/ledgers?matterId=" + theirs, nil, 403},
		{staff, "GET", "/v1/trust/activity", nil, 403},
		{staff, "POST", "/v1/trust/entries", entry(acct, client, "deposit", 5), 403},
		{attorney, "GET", "/v1/trust/ledgers?matterId=" + theirs, nil, 200},
		{attorney, "GET", "/v1/trust/export?matterId=" + theirs, nil, 200},
		{attorney, "GET", "/v1/trust/ledgers?matterId=" + notTheirs, nil, 403},
		{attorney, "GET", "/v1/trust/ledgers?clientId=" + client, nil, 403},
		{attorney, "GET", "/v1/trust/entries?accountId=" + acct, nil, 403},
		{attorney, "GET", "/v1/trust/export?accountId=" + acct, nil, 403},
		{attorney, "POST", "/v1/trust/entries/" + dep + "/reverse", map[string]any{"reason": "x"}, 403},
		{billing, "GET", "/v1/trust/reconciliation?accountId=" + acct + "&asOf=2026-11-02&bankBalance=500", nil, 200},
		{owner, "GET", "/v1/trust/ledgers?clientId=" + client, nil, 200},
	} {
		if r := c.who.do(c.method, c.path, c.body); r.Status != c.want {
			t.Errorf("%s %s = %d, want %d: %s", c.method, c.path, r.Status, c.want, r.Raw)
		}
	}
	// Trust activity stays out of the client and matter feeds staff read.
	if raw := staff.must(200, "GET", "/v1/activity?clientId="+client, nil).Raw; strings.Contains(raw, "trust") {
		t.Errorf("staff see trust activity: %s", raw)
	}
	// A client or matter with trust records cannot be deleted, even once
	// its balance is back to zero: the records are kept, and a reversal may
	// still need them.
	billing.must(201, "POST", "/v1/trust/entries", entry(acct, client, "disbursement", 500, "matterId", theirs))
	owner.must(200, "PATCH", "/v1/matters/"+theirs, map[string]any{"status": "closed"})
	owner.must(204, "DELETE", "/v1/matters/"+notTheirs, nil)
	for _, path := range []string{"/v1/matters/" + theirs, "/v1/clients/" + client} {
		if r := owner.do("DELETE", path, nil); r.Status != 409 || rule(r) != "trust.records-held" {
			t.Errorf("DELETE %s with trust records = %d %s", path, r.Status, r.Raw)
		}
	}
}

func TestTrustExportCSV(t *testing.T) {
	t.Parallel()
	a := signup(t)
	client, _ := clientAndMatter(a)
	acct := a.trustAccount()
	a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "deposit", 123456, "date", "2026-10-01"))
	a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "disbursement", 456, "date", "2026-11-03",
		"description", "=HYPERLINK(\"http://evil\")", "method", checkNo("9")))
	r := a.must(200, "GET", "/v1/trust/export?accountId="+acct+"&clientId="+client+"&from=2026-11-01", nil)
	if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	rows, err := csv.NewReader(strings.NewReader(r.Raw)).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("csv %v: %q", err, r.Raw)
	}
	if rows[1][2] != "opening balance" || rows[1][12] != "1234.56" {
		t.Errorf("opening row %v", rows[1])
	}
	if rows[2][7] != `'=HYPERLINK("http://evil")` || rows[2][11] != "-4.56" || rows[2][12] != "1230.00" || rows[2][4] != "Casey Client" {
		t.Errorf("entry row %v", rows[2])
	}
}

// TestTrustRandomSequences drives random valid and invalid entries
// (some dated back), reversals and clearings against a model kept by the
// test, which predicts every answer. After each step no ledger is below
// zero and the journal, the ledgers and the model agree; at the end no
// ledger was below zero as of any day, and a reconciliation against the
// model's bank statement balances.
func TestTrustRandomSequences(t *testing.T) {
	t.Parallel()
	a := signup(t)
	acct := a.trustAccount()
	clients := []string{a.newClient("Ada"), a.newClient("Ben"), a.newClient("Cy")}
	rng := rand.New(rand.NewPCG(7, 11))
	balance := map[string]int64{} // client → balance
	last := map[string]string{}   // client → date of its latest entry
	type posted struct {
		id, client, date string
		change           int64
		reversed         bool
	}
	var entries []posted
	var bankCleared int64 // the statement: every item cleared by a clearing
	later := func(a, b string) string { return max(a, b) }
	refused := map[string]int{} // by rule ("" for accepted)
	for step := range 100 {
		c := clients[rng.IntN(len(clients))]
		amount := int64(rng.IntN(5000) + 1)
		today := 1 + step/5
		day := today
		if rng.IntN(4) == 0 {
			day = max(1, today-1-rng.IntN(4)) // dated back a few days
		}
		date := fmt.Sprintf("2026-10-%02d", day)
		var r result
		var want int
		switch op := rng.IntN(11); {
		case op < 4:
			r, want = a.do("POST", "/v1/trust/entries", entry(acct, c, "deposit", amount, "date", date)), 201
			if r.Status == 201 {
				balance[c] += amount
				last[c] = later(last[c], date)
				entries = append(entries, posted{str(r.Body, "id"), c, date, amount, false})
			}
		case op < 7:
			r = a.do("POST", "/v1/trust/entries", entry(acct, c, "disbursement", amount, "date", date))
			want = 409
			if balance[c] >= amount && date >= last[c] {
				want = 201
				balance[c] -= amount
				last[c] = date
				entries = append(entries, posted{str(r.Body, "id"), c, date, -amount, false})
			}
		case op < 8:
			to := clients[(slices.Index(clients, c)+1)%len(clients)]
			r = a.do("POST", "/v1/trust/entries", entry(acct, c, "transfer", amount, "toClientId", to, "date", date))
			want = 409
			if balance[c] >= amount && date >= last[c] {
				want = 201
				balance[c] -= amount
				balance[to] += amount
				last[c], last[to] = date, later(last[to], date)
			}
		case op < 10 && len(entries) > 0:
			i := rng.IntN(len(entries))
			e := entries[i]
			date = later(date, e.date) // a reversal is dated on or after its entry
			r = a.do("POST", "/v1/trust/entries/"+e.id+"/reverse", map[string]any{"reason": "random", "date": date})
			want = 201
			switch {
			case e.reversed:
				want = 409
			case e.change > 0 && (balance[e.client] < e.change || date < last[e.client]):
				want = 409 // undoing a deposit takes money out
			}
			if want == 201 {
				balance[e.client] -= e.change
				last[e.client] = later(last[e.client], date)
				entries[i].reversed = true
				entries = append(entries, posted{str(r.Body, "id"), e.client, date, -e.change, false})
			}
		case len(entries) > 0:
			e := entries[rng.IntN(len(entries))]
			r = a.do("POST", "/v1/trust/entries/"+e.id+"/clear", map[string]any{"statementDate": later(date, e.date)})
			want = r.Status // cleared once: 200, then 409 (also for both sides of a reversal of an uncleared item)
			if r.Status == 200 {
				bankCleared += e.change
			} else if r.Status != 409 {
				t.Fatalf("step %d: clear = %d %s", step, r.Status, r.Raw)
			}
		default:
			continue
		}
		if r.Status != want {
			t.Fatalf("step %d: %d, model says %d: %s", step, r.Status, want, r.Raw)
		}
		refused[rule(r)]++
		var total int64
		for _, x := range items(a.must(200, "GET", "/v1/trust/ledgers?accountId="+acct, nil)) {
			b := int64(num(x, "balance"))
			if b < 0 || b != balance[str(x, "clientId")] {
				t.Fatalf("step %d: ledger %v, model %d", step, x, balance[str(x, "clientId")])
			}
			total += b
		}
		if j := int64(num(a.must(200, "GET", "/v1/trust/accounts/"+acct, nil).Body, "balance")); j != total {
			t.Fatalf("step %d: journal %d != ledgers %d", step, j, total)
		}
	}
	t.Logf("answers by rule: %v", refused)
	for _, r := range []string{"", "trust.no-negative-balance", "trust.backdated-outflow", "trust.already-reversed", "trust.already-cleared"} {
		if refused[r] == 0 {
			t.Errorf("the sequence never hit %q; change the seed or the mix", r)
		}
	}
	// As of every day, no ledger was below zero.
	for day := 1; day <= 21; day += 4 {
		for _, d := range reconcile(t, a, acct, fmt.Sprintf("2026-10-%02d", day), 0)["differences"].([]any) {
			if kind := str(d.(map[string]any), "kind"); kind != "bankToJournal" {
				t.Errorf("as of day %d: %v", day, d)
			}
		}
	}
	// Reversals of uncleared items clear both sides without touching the
	// bank, so the statement holds exactly what was cleared by clearing.
	if rec := reconcile(t, a, acct, "2026-11-20", bankCleared); rec["balanced"] != true {
		t.Errorf("reconciliation after the random sequence: %v", rec)
	}
}

// TestTrustAmounts: amounts are whole minor units up to 10^12, summed
// exactly; anything else is refused with nothing written.
func TestTrustAmounts(t *testing.T) {
	t.Parallel()
	a := signup(t)
	client, _ := clientAndMatter(a)
	acct := a.trustAccount()
	for range 3 {
		a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "deposit", 1_000_000_000_000))
	}
	a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "disbursement", 1))
	before := countItems(t, a.orgID, "TRUST#")
	for _, bad := range []string{"1000000000001", "0", "-5", "1.5", "1e3", `"100"`, "99999999999999999999"} {
		raw := strings.Replace(mustJSON(entry(acct, client, "deposit", 7)), `"amount":7`, `"amount":`+bad, 1)
		if r := a.do("POST", "/v1/trust/entries", raw); r.Status != 422 || !strings.Contains(r.Raw, `"field":"amount"`) {
			t.Errorf("amount %s = %d %s", bad, r.Status, r.Raw)
		}
	}
	if after := countItems(t, a.orgID, "TRUST#"); after != before {
		t.Errorf("refused amounts wrote %d items", after-before)
	}
	if b := balanceOf(t, a, acct, client, ""); b != 2_999_999_999_999 {
		t.Errorf("balance %d", b)
	}
	if rec := reconcile(t, a, acct, "2026-11-20", 0); num(rec, "depositsInTransit") != 3e12 || num(rec, "outstandingChecks") != 1 || rec["balanced"] != true {
		t.Errorf("reconciliation %v", rec)
	}
}

// TestTrustEntriesAreImmutable: reversing and clearing an entry add the
// two facts, once each, and change nothing else of it.
func TestTrustEntriesAreImmutable(t *testing.T) {
	t.Parallel()
	a := signup(t)
	client, matter := clientAndMatter(a)
	acct := a.trustAccount()
	a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "deposit", 5000, "matterId", matter))
	chk := a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "disbursement", 900, "matterId", matter, "method", checkNo("44"), "date", "2026-11-04")).Body
	raw := func() map[string]any {
		out, err := stack.Dynamo.Client().GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(store.DefaultTableName),
			Key: store.Key(tenant.PK(a.orgID), "TRUST#E#"+acct+"#2026-11-04#"+str(chk, "id")), ConsistentRead: aws.Bool(true)})
		if err != nil || out.Item == nil {
			t.Fatalf("read entry: %v", err)
		}
		var m map[string]any
		if err := attributevalue.UnmarshalMap(out.Item, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	before := raw()
	a.must(200, "POST", "/v1/trust/entries/"+str(chk, "id")+"/clear", map[string]any{"statementDate": "2026-11-06"})
	a.must(201, "POST", "/v1/trust/entries/"+str(chk, "id")+"/reverse", map[string]any{"reason": "Stale check"})
	after := raw()
	for k, v := range before {
		if !reflect.DeepEqual(after[k], v) {
			t.Errorf("attribute %s changed: %v → %v", k, v, after[k])
		}
	}
	var added []string
	for k := range after {
		if _, ok := before[k]; !ok {
			added = append(added, k)
		}
	}
	slices.Sort(added)
	if !slices.Equal(added, []string{"clearedOn", "reversedBy"}) {
		t.Errorf("added attributes %v, want clearedOn and reversedBy", added)
	}
	if r := a.do("POST", "/v1/trust/entries/"+str(chk, "id")+"/clear", map[string]any{"statementDate": "2026-11-07"}); r.Status != 409 || rule(r) != "trust.already-cleared" {
		t.Errorf("clearing twice = %d %s", r.Status, r.Raw)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestTrustCallsPerRequest pins what each trust request costs in DynamoDB
// calls: a posting is one batch read and one transaction, whatever it is.
func TestTrustCallsPerRequest(t *testing.T) {
	a := signup(t)
	client, matter := clientAndMatter(a)
	other := a.newClient("Other")
	acct := a.trustAccount()
	a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "deposit", 90000, "matterId", matter))
	dep := str(a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "deposit", 50)).Body, "id")
	post := map[string]int{"BatchGetItem": 1, "TransactWriteItems": 1}
	tests := []struct {
		name         string
		method, path string
		body         any
		want         map[string]int
	}{
		{"deposit", "POST", "/v1/trust/entries", entry(acct, client, "deposit", 100, "matterId", matter), post},
		{"disbursement by check", "POST", "/v1/trust/entries", entry(acct, client, "disbursement", 100, "matterId", matter, "method", checkNo("8")), post},
		{"transfer", "POST", "/v1/trust/entries", entry(acct, client, "transfer", 100, "matterId", matter, "toClientId", other), post},
		// The entry's id reference; the entry (and its other leg), account
		// and org in one batch; the balances it moves; one transaction.
		{"reverse", "POST", "/v1/trust/entries/" + dep + "/reverse", map[string]any{"reason": "Counted"},
			map[string]int{"GetItem": 1, "BatchGetItem": 2, "TransactWriteItems": 1}},
		{"journal page", "GET", "/v1/trust/entries?accountId=" + acct, nil, map[string]int{"GetItem": 1, "Query": 1}},
		// The org's time zone; the account, three queries, the account again.
		{"reconciliation", "GET", "/v1/trust/reconciliation?accountId=" + acct + "&asOf=2026-11-02&bankBalance=0", nil,
			map[string]int{"BatchGetItem": 1, "GetItem": 2, "Query": 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := callsOf(a.in(t), tt.method, tt.path, tt.body), plusMemberRead(tt.want); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("DynamoDB calls = %v, want %v", got, want)
			}
		})
	}
}

// BenchmarkPostTrustEntry: a deposit with its balances, bank item, id
// reference and audit entry, in one transaction.
func BenchmarkPostTrustEntry(b *testing.B) {
	a := signup(b)
	client, matter := clientAndMatter(a)
	acct := a.trustAccount()
	body := entry(acct, client, "deposit", 100, "matterId", matter)
	measure(b, func() int { return a.do("POST", "/v1/trust/entries", body).Status }, 201)
}

// TestTrustBankFeesAndInterest: bank fees come out of the firm's own funds
// in the account, never a client's; interest goes to a client or to the
// firm ledger; all of it reconciles.
func TestTrustBankFeesAndInterest(t *testing.T) {
	t.Parallel()
	a := signup(t)
	client, _ := clientAndMatter(a)
	acct := a.trustAccount()
	a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "deposit", 10000))
	fee := entry(acct, "", "bankFee", 1500, "clientId", nil, "description", "Monthly service charge")
	if r := a.do("POST", "/v1/trust/entries", fee); r.Status != 409 || rule(r) != "trust.no-negative-balance" || !strings.Contains(r.Raw, "firm's own funds") {
		t.Fatalf("a fee with no firm funds = %d %s", r.Status, r.Raw)
	}
	if r := a.do("POST", "/v1/trust/entries", entry(acct, client, "bankFee", 1500)); r.Status != 422 || !strings.Contains(r.Raw, `"field":"clientId"`) {
		t.Errorf("a fee charged to a client = %d %s", r.Status, r.Raw)
	}
	a.must(201, "POST", "/v1/trust/entries", entry(acct, "", "deposit", 5000, "clientId", nil, "firmFunds", true, "description", "Firm funds for bank charges"))
	if e := a.must(201, "POST", "/v1/trust/entries", fee).Body; e["firmFunds"] != true || num(e, "change") != -1500 {
		t.Errorf("fee entry %v", e)
	}
	a.must(201, "POST", "/v1/trust/entries", entry(acct, client, "interest", 37, "description", "Interest (non-IOLTA client account)"))
	a.must(201, "POST", "/v1/trust/entries", entry(acct, "", "interest", 12, "clientId", nil, "firmFunds", true, "description", "IOLTA interest, to remit"))
	firm := a.must(200, "GET", "/v1/trust/ledgers?accountId="+acct+"&firmFunds=true", nil).Body
	if num(firm, "balance") != 5000-1500+12 || firm["firmFunds"] != true {
		t.Errorf("firm ledger %v", firm)
	}
	if b := balanceOf(t, a, acct, client, ""); b != 10037 {
		t.Errorf("client balance %d", b)
	}
	rec := reconcile(t, a, acct, "2026-11-02", 0)
	if num(rec, "firmFunds") != 3512 || num(rec, "clientLedgersTotal") != 13549 || num(rec, "journalBalance") != 13549 ||
		num(rec, "depositsInTransit") != 15049 || num(rec, "outstandingChecks") != 1500 || rec["balanced"] != true {
		t.Errorf("reconciliation %v", rec)
	}
}
