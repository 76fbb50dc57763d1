package trust

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/store/storetest"
	"github.com/matterly/matterly/shared/tenant"
)

// The fast tests of the trust rules: each against the embedded DynamoDB
// (storetest), in an org of its own, with a fixed clock. The end-to-end
// flows over HTTP stay in shared/devstack.

// clock is the tests' now: 7 December 2026, afternoon in UTC.
var clock = time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)

// books is an org with a trust account, two clients, and a matter of the
// first client.
type books struct {
	t       *testing.T
	svc     *Service
	a       caller.Caller
	acct    Account
	client  string
	client2 string
	matter  string
}

func newBooks(t *testing.T) *books {
	t.Helper()
	db := storetest.DB(t)
	org := storetest.NewOrg(t, db)
	b := &books{t: t, svc: NewService(db, nil, func() time.Time { return clock }),
		a: caller.Caller{OrgID: org.ID, UserID: org.OwnerID, Role: "owner"}}
	acct, err := b.svc.CreateAccount(context.Background(), b.a, AccountInput{Name: "IOLTA", BankName: "First Bank", AccountLast4: "1234", Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	b.acct = acct
	b.client, b.client2, b.matter = storetest.ID(), storetest.ID(), storetest.ID()
	for _, id := range []string{b.client, b.client2} {
		storetest.Put(t, db, crm.Client{Keys: store.Keys{PK: tenant.PK(org.ID), SK: crm.ClientSK(id), Type: "client"}, ID: id, Kind: "person", Name: "Client " + id})
	}
	storetest.Put(t, db, crm.Matter{Keys: store.Keys{PK: tenant.PK(org.ID), SK: crm.MatterSK(b.matter), Type: "matter"},
		ID: b.matter, ClientID: b.client, Title: "Estate", Status: crm.StatusOpen, OpenedOn: "2026-01-02"})
	return b
}

func (b *books) post(in EntryInput) (Entry, error) {
	b.t.Helper()
	in.AccountID = b.acct.ID
	e, _, err := b.svc.Post(context.Background(), b.a, "", in)
	return e, err
}

// must posts in and fails the test if it is refused.
func (b *books) must(in EntryInput) Entry {
	b.t.Helper()
	e, err := b.post(in)
	if err != nil {
		b.t.Fatalf("post %+v: %v", in, err)
	}
	return e
}

func deposit(client string, amount int64, date string) EntryInput {
	return EntryInput{ClientID: client, Type: Deposit, Amount: amount, Date: date, Description: "Retainer", Counterparty: "Payer", Method: &Method{Kind: Wire, Reference: "W1"}}
}

func checkOut(client string, amount int64, date, number string) EntryInput {
	return EntryInput{ClientID: client, Type: Disbursement, Amount: amount, Date: date, Description: "Filing fee", Counterparty: "Court", Method: &Method{Kind: Check, Reference: number}}
}

// wantField fails unless err is a 422 naming field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	e := fault.As(err)
	if e == nil || e.Kind != fault.Invalid {
		t.Fatalf("got %v, want 422 naming %s", err, field)
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return
		}
	}
	t.Fatalf("fields %+v do not name %s", e.Fields, field)
}

// wantRule fails unless err is a refusal (409) of rule.
func wantRule(t *testing.T, err error, rule string) {
	t.Helper()
	if e := fault.As(err); e == nil || e.Kind != fault.Conflict || e.Rule != rule {
		t.Fatalf("got %v, want refusal %s", err, rule)
	}
}

func TestNormalize(t *testing.T) {
	acct, client, matter := storetest.ID(), storetest.ID(), storetest.ID()
	ok := func(f func(*EntryInput)) EntryInput {
		in := deposit(client, 100, "2026-12-01")
		in.AccountID = acct
		f(&in)
		return in
	}
	tests := []struct {
		name  string
		in    EntryInput
		field string // "" when in is valid
	}{
		{"deposit", ok(func(*EntryInput) {}), ""},
		{"firm funds deposit", ok(func(in *EntryInput) { in.ClientID, in.FirmFunds = "", true }), ""},
		{"bank fee", ok(func(in *EntryInput) { in.ClientID, in.Type, in.Counterparty, in.Method = "", BankFee, "", nil }), ""},
		{"transfer", ok(func(in *EntryInput) { in.Type, in.ToClientID, in.Method = Transfer, storetest.ID(), nil }), ""},
		{"check disbursement", ok(func(in *EntryInput) { in.Type, in.Method = Disbursement, &Method{Kind: Check, Reference: " 0077 "} }), ""},
		{"account not an id", ok(func(in *EntryInput) { in.AccountID = "acct" }), "accountId"},
		{"zero amount", ok(func(in *EntryInput) { in.Amount = 0 }), "amount"},
		{"amount over max", ok(func(in *EntryInput) { in.Amount = MaxAmount + 1 }), "amount"},
		{"not a date", ok(func(in *EntryInput) { in.Date = "2026-13-01" }), "date"},
		{"year 0000", ok(func(in *EntryInput) { in.Date = "0000-06-01" }), "date"},
		{"before 1900", ok(func(in *EntryInput) { in.Date = "1899-12-31" }), "date"},
		{"after next year", ok(func(in *EntryInput) { in.Date = "2028-01-01" }), "date"},
		{"no description", ok(func(in *EntryInput) { in.Description = "  " }), "description"},
		{"client not an id", ok(func(in *EntryInput) { in.ClientID = "c" }), "clientId"},
		{"deposit without client", ok(func(in *EntryInput) { in.ClientID = "" }), "clientId"},
		{"firm funds with client", ok(func(in *EntryInput) { in.FirmFunds = true }), "clientId"},
		{"bank fee from a client", ok(func(in *EntryInput) { in.Type, in.Counterparty, in.Method = BankFee, "", nil }), "clientId"},
		{"transfer of firm funds", ok(func(in *EntryInput) {
			in.Type, in.ToClientID, in.Method, in.FirmFunds = Transfer, storetest.ID(), nil, true
		}), "firmFunds"},
		{"transfer without destination", ok(func(in *EntryInput) { in.Type, in.Method = Transfer, nil }), "toClientId"},
		{"transfer to itself", ok(func(in *EntryInput) { in.Type, in.ToClientID, in.Method = Transfer, client, nil }), "toMatterId"},
		{"transfer with method", ok(func(in *EntryInput) { in.Type, in.ToClientID = Transfer, storetest.ID() }), "method"},
		{"unknown type", ok(func(in *EntryInput) { in.Type = "gift" }), "type"},
		{"destination on a deposit", ok(func(in *EntryInput) { in.ToClientID = storetest.ID() }), "toClientId"},
		{"matter without client", ok(func(in *EntryInput) { in.ClientID, in.FirmFunds, in.MatterID = "", true, matter }), "matterId"},
		{"deposit without counterparty", ok(func(in *EntryInput) { in.Counterparty = "" }), "counterparty"},
		{"deposit without method", ok(func(in *EntryInput) { in.Method = nil }), "method"},
		{"bad check number", ok(func(in *EntryInput) { in.Type, in.Method = Disbursement, &Method{Kind: Check, Reference: "12 34"} }), "method.reference"},
		{"unknown method", ok(func(in *EntryInput) { in.Method = &Method{Kind: "barter"} }), "method.kind"},
		{"reissue of a wire", ok(func(in *EntryInput) { in.Method = &Method{Kind: Wire, Reissue: true, ReissueReason: "lost"} }), "method.reissue"},
		{"reissue without reason", ok(func(in *EntryInput) {
			in.Type, in.Method = Disbursement, &Method{Kind: Check, Reference: "7", Reissue: true}
		}), "method.reissueReason"},
		{"reason without reissue", ok(func(in *EntryInput) { in.Method = &Method{Kind: Wire, ReissueReason: "why"} }), "method.reissueReason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.normalize(clock)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantField(t, err, tt.field)
		})
	}
}

func TestCheckRefs(t *testing.T) {
	client, other, matter := storetest.ID(), storetest.ID(), storetest.ID()
	nyc, _ := time.LoadLocation("America/New_York")
	base := func() refs {
		return refs{account: &Account{ID: "a"}, loc: time.UTC,
			clients: map[string]*crm.Client{client: {ID: client}, other: {ID: other}},
			matters: map[string]*crm.Matter{matter: {ID: matter, ClientID: client}}}
	}
	tests := []struct {
		name  string
		in    EntryInput
		r     func(refs) refs
		field string // the 422's field, or a rule's name
	}{
		{"all found", EntryInput{ClientID: client, MatterID: matter, Date: "2026-12-07"}, nil, ""},
		{"no account", EntryInput{ClientID: client, Date: "2026-12-07"}, func(r refs) refs { r.account = nil; return r }, "accountId"},
		{"no client", EntryInput{ClientID: storetest.ID(), Date: "2026-12-07"}, nil, "clientId"},
		{"no matter", EntryInput{ClientID: client, MatterID: storetest.ID(), Date: "2026-12-07"}, nil, "matterId"},
		{"another client's matter", EntryInput{ClientID: other, MatterID: matter, Date: "2026-12-07"}, nil, "matterId"},
		{"no destination client", EntryInput{ClientID: client, ToClientID: storetest.ID(), Date: "2026-12-07"}, nil, "toClientId"},
		{"destination matter of another client", EntryInput{ClientID: client, ToClientID: other, ToMatterID: matter, Date: "2026-12-07"}, nil, "toMatterId"},
		{"tomorrow", EntryInput{ClientID: client, Date: "2026-12-08"}, nil, "date"},
		// At 15:00 UTC it is still 10:00 on the 7th in New York.
		{"today in UTC, tomorrow nowhere", EntryInput{ClientID: client, Date: "2026-12-07"}, func(r refs) refs { r.loc = nyc; return r }, ""},
		{"locked", EntryInput{ClientID: client, Date: "2026-11-30"}, func(r refs) refs { r.account.LockedThrough = "2026-11-30"; return r }, RulePeriodLocked},
		{"after the lock", EntryInput{ClientID: client, Date: "2026-12-01"}, func(r refs) refs { r.account.LockedThrough = "2026-11-30"; return r }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base()
			if tt.r != nil {
				r = tt.r(r)
			}
			err := tt.in.checkRefs(r, clock)
			switch {
			case tt.field == "":
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			case strings.HasPrefix(tt.field, "trust."):
				wantRule(t, err, tt.field)
			default:
				wantField(t, err, tt.field)
			}
		})
	}
}

func TestCheckKey(t *testing.T) {
	for _, tt := range []struct{ a, b string }{{"77", "077"}, {"77", "0077"}, {"a-12", "A-12"}, {"0", "000"}, {"0A1", "A1"}} {
		if checkKey(tt.a) != checkKey(tt.b) {
			t.Errorf("%q and %q are different checks: %q, %q", tt.a, tt.b, checkKey(tt.a), checkKey(tt.b))
		}
	}
	for _, tt := range []struct{ a, b string }{{"77", "770"}, {"7-7", "77"}, {"0", "00-0"}} {
		if checkKey(tt.a) == checkKey(tt.b) {
			t.Errorf("%q and %q are one check", tt.a, tt.b)
		}
	}
}

// TestPostRules posts against a real table, one subtest per rule.
func TestPostRules(t *testing.T) {
	t.Run("deposit moves the ledger, matter and account", func(t *testing.T) {
		b := newBooks(t)
		in := deposit(b.client, 10_000, "2026-12-01")
		in.MatterID = b.matter
		b.must(in)
		if got := b.balances(); len(got) != 1 || got[b.client] != 10_000 {
			t.Fatalf("balances %v", got)
		}
		acct, err := b.svc.Account(context.Background(), b.a.OrgID, b.acct.ID)
		if err != nil || acct.Balance != 10_000 {
			t.Fatalf("account %+v %v", acct, err)
		}
		v, _, err := b.svc.Ledger(context.Background(), b.a.OrgID, acct, Scope{AccountID: acct.ID, ClientID: b.client, MatterID: b.matter}, 10, nil)
		if err != nil || len(v.Entries) != 1 || v.Balance != 10_000 {
			t.Fatalf("matter ledger %+v %v", v, err)
		}
	})
	t.Run("no negative balance", func(t *testing.T) {
		b := newBooks(t)
		b.must(deposit(b.client, 5_000, "2026-12-01"))
		_, err := b.post(checkOut(b.client, 5_001, "2026-12-02", "100"))
		wantRule(t, err, RuleNoNegative)
		b.must(checkOut(b.client, 5_000, "2026-12-02", "100"))
	})
	t.Run("another client's money is not yours", func(t *testing.T) {
		b := newBooks(t)
		b.must(deposit(b.client, 5_000, "2026-12-01"))
		_, err := b.post(checkOut(b.client2, 1, "2026-12-02", "100"))
		wantRule(t, err, RuleNoNegative)
	})
	t.Run("no backdated outflow", func(t *testing.T) {
		b := newBooks(t)
		b.must(deposit(b.client, 5_000, "2026-12-03"))
		_, err := b.post(checkOut(b.client, 100, "2026-12-02", "100"))
		wantRule(t, err, RuleBackdated)
	})
	t.Run("bank fees come from firm funds", func(t *testing.T) {
		b := newBooks(t)
		fee := EntryInput{Type: BankFee, Amount: 25, Date: "2026-12-02", Description: "Wire fee"}
		_, err := b.post(fee)
		wantRule(t, err, RuleNoNegative)
		firm := deposit("", 100, "2026-12-01")
		firm.FirmFunds = true
		b.must(firm)
		b.must(fee)
	})
	t.Run("check number used once, leading zeros ignored", func(t *testing.T) {
		b := newBooks(t)
		b.must(deposit(b.client, 5_000, "2026-12-01"))
		b.must(checkOut(b.client, 100, "2026-12-02", "77"))
		for _, n := range []string{"77", "077", "0077"} {
			_, err := b.post(checkOut(b.client, 100, "2026-12-02", n))
			wantRule(t, err, RuleCheckUsed)
		}
		reissue := checkOut(b.client, 100, "2026-12-03", "077")
		reissue.Method.Reissue, reissue.Method.ReissueReason = true, "Lost in the mail"
		e := b.must(reissue)
		if e.Method.Reference != "077" {
			t.Fatalf("reference kept as %q, want what was typed", e.Method.Reference)
		}
		b.must(checkOut(b.client, 100, "2026-12-03", "770"))
	})
	t.Run("year 0000 is refused, not folded into the opening balance", func(t *testing.T) {
		b := newBooks(t)
		_, err := b.post(deposit(b.client, 5_000, "0000-01-01"))
		wantField(t, err, "date")
		b.must(deposit(b.client, 5_000, "2026-12-01"))
		csvOut, err := b.svc.Export(context.Background(), b.a.OrgID, b.account(), Scope{AccountID: b.acct.ID}, beginning, "2026-12-31")
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(bytes.NewReader(csvOut)).ReadAll()
		if err != nil || len(rows) < 3 {
			t.Fatalf("csv %q %v", csvOut, err)
		}
		if !strings.Contains(strings.Join(rows[1], ","), "0.00") {
			t.Fatalf("opening line %v, want a zero balance", rows[1])
		}
	})
	t.Run("future date", func(t *testing.T) {
		b := newBooks(t)
		_, err := b.post(deposit(b.client, 5_000, "2026-12-08"))
		wantField(t, err, "date")
	})
	t.Run("unknown client and matter", func(t *testing.T) {
		b := newBooks(t)
		in := deposit(storetest.ID(), 5_000, "2026-12-01")
		_, err := b.post(in)
		wantField(t, err, "clientId")
		in = deposit(b.client2, 5_000, "2026-12-01")
		in.MatterID = b.matter
		_, err = b.post(in)
		wantField(t, err, "matterId")
	})
	t.Run("transfer between matters of one client and to another client", func(t *testing.T) {
		b := newBooks(t)
		b.must(deposit(b.client, 5_000, "2026-12-01"))
		tr := EntryInput{ClientID: b.client, ToClientID: b.client, ToMatterID: b.matter, Type: Transfer, Amount: 2_000, Date: "2026-12-02", Description: "Allocate"}
		e := b.must(tr)
		if e.TransferID == "" || e.CounterpartID == "" {
			t.Fatalf("transfer legs not paired: %+v", e)
		}
		tr = EntryInput{ClientID: b.client, MatterID: b.matter, ToClientID: b.client2, Type: Transfer, Amount: 2_001, Date: "2026-12-02", Description: "Move"}
		_, err := b.post(tr)
		wantRule(t, err, RuleNoNegative)
		tr.Amount = 2_000
		b.must(tr)
		if got := b.balances(); got[b.client] != 3_000 || got[b.client2] != 2_000 {
			t.Fatalf("balances %v", got)
		}
	})
	t.Run("idempotency key replays, and refuses a different request", func(t *testing.T) {
		b := newBooks(t)
		in := deposit(b.client, 5_000, "2026-12-01")
		in.AccountID = b.acct.ID
		first, replayed, err := b.svc.Post(context.Background(), b.a, "key-1", in)
		if err != nil || replayed {
			t.Fatalf("first: %v %v", replayed, err)
		}
		again, replayed, err := b.svc.Post(context.Background(), b.a, "key-1", in)
		if err != nil || !replayed || again.ID != first.ID {
			t.Fatalf("retry: %+v %v %v", again, replayed, err)
		}
		in.Amount++
		_, _, err = b.svc.Post(context.Background(), b.a, "key-1", in)
		if e := fault.As(err); e == nil || e.Rule == "" {
			t.Fatalf("different request under a used key: %v", err)
		}
		_, _, err = b.svc.Post(context.Background(), b.a, "bad key!", in)
		wantField(t, err, "Idempotency-Key")
		if acct := b.account(); acct.Balance != 5_000 {
			t.Fatalf("balance %d after a replay, want 5000", acct.Balance)
		}
	})
	t.Run("a member demoted to staff cannot post", func(t *testing.T) {
		b := newBooks(t)
		storetest.AddMember(t, b.svc.DB, b.a.OrgID, b.a.UserID, "staff")
		_, err := b.post(deposit(b.client, 5_000, "2026-12-01"))
		if !fault.Is(err, fault.Forbidden) {
			t.Fatalf("got %v, want 403", err)
		}
	})
}

// balances is each client ledger's total (not its matter parts) by client
// id; the firm's own funds are under "".
func (b *books) balances() map[string]int64 {
	b.t.Helper()
	rows, _, err := b.svc.Balances(context.Background(), b.a.OrgID, b.acct.ID, 100, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, l := range rows {
		if l.Bucket == "" {
			out[l.ClientID] = l.Balance
		}
	}
	return out
}

func (b *books) account() Account {
	b.t.Helper()
	acct, err := b.svc.Account(context.Background(), b.a.OrgID, b.acct.ID)
	if err != nil {
		b.t.Fatal(err)
	}
	return acct
}

func TestReverseAndClear(t *testing.T) {
	b := newBooks(t)
	ctx := context.Background()
	dep := b.must(deposit(b.client, 5_000, "2026-12-01"))
	spent := b.must(checkOut(b.client, 1_000, "2026-12-02", "9"))
	tr := b.must(EntryInput{ClientID: b.client, ToClientID: b.client2, Type: Transfer, Amount: 500, Date: "2026-12-02", Description: "Move"})

	tests := []struct {
		name  string
		do    func() error
		field string // a 422's field or a rule; "" when it succeeds
	}{
		{"reverse without a reason", func() error { _, err := b.svc.Reverse(ctx, b.a, spent.ID, ReverseInput{}); return err }, "reason"},
		{"reverse dated year 0000", func() error {
			_, err := b.svc.Reverse(ctx, b.a, spent.ID, ReverseInput{Reason: "typo", Date: "0000-12-02"})
			return err
		}, "date"},
		{"reverse dated before the entry", func() error {
			_, err := b.svc.Reverse(ctx, b.a, spent.ID, ReverseInput{Reason: "typo", Date: "2026-12-01"})
			return err
		}, "date"},
		{"reverse dated tomorrow", func() error {
			_, err := b.svc.Reverse(ctx, b.a, spent.ID, ReverseInput{Reason: "typo", Date: "2026-12-08"})
			return err
		}, "date"},
		{"reverse the check", func() error { _, err := b.svc.Reverse(ctx, b.a, spent.ID, ReverseInput{Reason: "void"}); return err }, ""},
		{"reverse it again", func() error { _, err := b.svc.Reverse(ctx, b.a, spent.ID, ReverseInput{Reason: "void"}); return err }, RuleReversed},
		{"reverse a transfer", func() error {
			_, err := b.svc.Reverse(ctx, b.a, tr.ID, ReverseInput{Reason: "wrong client"})
			return err
		}, ""},
		{"clear dated year 0000", func() error {
			_, err := b.svc.Clear(ctx, b.a, dep.ID, ClearInput{StatementDate: "0000-12-05"})
			return err
		}, "statementDate"},
		{"clear dated 2100", func() error {
			_, err := b.svc.Clear(ctx, b.a, dep.ID, ClearInput{StatementDate: "2100-01-01"})
			return err
		}, "statementDate"},
		{"clear before the entry", func() error {
			_, err := b.svc.Clear(ctx, b.a, dep.ID, ClearInput{StatementDate: "2026-11-30"})
			return err
		}, "statementDate"},
		{"clear the deposit", func() error {
			_, err := b.svc.Clear(ctx, b.a, dep.ID, ClearInput{StatementDate: "2026-12-05"})
			return err
		}, ""},
		{"clear it again", func() error {
			_, err := b.svc.Clear(ctx, b.a, dep.ID, ClearInput{StatementDate: "2026-12-05"})
			return err
		}, RuleCleared},
		{"clear a transfer", func() error {
			_, err := b.svc.Clear(ctx, b.a, tr.ID, ClearInput{StatementDate: "2026-12-05"})
			return err
		}, RuleNotBank},
		{"reverse an unknown entry", func() error {
			_, err := b.svc.Reverse(ctx, b.a, storetest.ID(), ReverseInput{Reason: "x"})
			if fault.Is(err, fault.NotFound) {
				return nil
			}
			return err
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			switch {
			case tt.field == "":
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			case strings.HasPrefix(tt.field, "trust."):
				wantRule(t, err, tt.field)
			default:
				wantField(t, err, tt.field)
			}
		})
	}
	if got := b.balances(); got[b.client] != 5_000 || got[b.client2] != 0 {
		t.Errorf("after the reversals: %v", got)
	}
	lines, _, err := b.svc.Journal(ctx, b.a.OrgID, b.acct.ID, 50, nil)
	if err != nil || len(lines) != 7 {
		t.Fatalf("journal has %d lines (%v), want 7: deposit, check, 2 transfer legs and 3 reversals", len(lines), err)
	}
}

func TestReconcileAndLock(t *testing.T) {
	b := newBooks(t)
	ctx := context.Background()
	dep := b.must(deposit(b.client, 5_000, "2026-11-02"))
	b.must(checkOut(b.client, 1_000, "2026-11-03", "1"))
	if _, err := b.svc.Clear(ctx, b.a, dep.ID, ClearInput{StatementDate: "2026-11-04"}); err != nil {
		t.Fatal(err)
	}
	// The bank has the deposit; the check is outstanding.
	for _, asOf := range []string{"0000-11-30", "1899-11-30", "2026-11-31"} {
		_, err := b.svc.Preview(ctx, b.a.OrgID, b.acct.ID, asOf, 5_000)
		wantField(t, err, "asOf")
	}
	_, err := b.svc.Preview(ctx, b.a.OrgID, b.acct.ID, "2026-12-08", 5_000)
	wantField(t, err, "asOf")
	rec, err := b.svc.Preview(ctx, b.a.OrgID, b.acct.ID, "2026-11-30", 5_000)
	if err != nil || !rec.Balanced || rec.OutstandingChecks != 1_000 || rec.JournalBalance != 4_000 {
		t.Fatalf("preview %+v %v", rec, err)
	}
	off := int64(4_999)
	_, err = b.svc.SignOff(ctx, b.a, SignOffInput{AccountID: b.acct.ID, AsOf: "2026-11-30", BankBalance: &off})
	wantRule(t, err, RuleUnbalanced)
	_, err = b.svc.SignOff(ctx, b.a, SignOffInput{AccountID: b.acct.ID, AsOf: "0000-11-30", BankBalance: &off})
	wantField(t, err, "asOf")
	bank := int64(5_000)
	signed, err := b.svc.SignOff(ctx, b.a, SignOffInput{AccountID: b.acct.ID, AsOf: "2026-11-30", BankBalance: &bank, Note: "November"})
	if err != nil || signed.ID == "" {
		t.Fatalf("sign-off %+v %v", signed, err)
	}
	_, err = b.post(deposit(b.client, 1, "2026-11-30"))
	wantRule(t, err, RulePeriodLocked)
	b.must(deposit(b.client, 1, "2026-12-01"))
	list, _, err := b.svc.Reconciliations(ctx, b.a.OrgID, b.acct.ID, "", 10, nil)
	if err != nil || len(list) != 1 || list[0].ID != signed.ID {
		t.Fatalf("reconciliations %+v %v", list, err)
	}
}
