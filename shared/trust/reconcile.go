package trust

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Reconciliation is a three-way reconciliation of a trust account as of a
// date: the bank statement balance adjusted for the items not yet cleared,
// the account's journal balance, and the sum of its ledgers (clients' and
// the firm's own funds). Signed off, it is stored and never changed.
type Reconciliation struct {
	store.Keys
	ID                  string `dynamodbav:"id,omitempty" json:"id,omitempty"` // set when signed off
	AccountID           string `dynamodbav:"accountId" json:"accountId"`
	Currency            string `dynamodbav:"currency" json:"currency"`
	AsOf                string `dynamodbav:"asOf" json:"asOf"`
	BankBalance         int64  `dynamodbav:"bankBalance" json:"bankBalance"`
	DepositsInTransit   int64  `dynamodbav:"depositsInTransit" json:"depositsInTransit"`
	OutstandingChecks   int64  `dynamodbav:"outstandingChecks" json:"outstandingChecks"` // every uncleared outflow, checks or not
	AdjustedBankBalance int64  `dynamodbav:"adjustedBankBalance" json:"adjustedBankBalance"`
	JournalBalance      int64  `dynamodbav:"journalBalance" json:"journalBalance"`
	ClientLedgersTotal  int64  `dynamodbav:"clientLedgersTotal" json:"clientLedgersTotal"` // clients' ledgers plus the firm's own funds
	FirmFunds           int64  `dynamodbav:"firmFunds" json:"firmFunds"`
	Balanced            bool   `dynamodbav:"balanced" json:"balanced"`
	// Differences lists every disagreement found; empty when balanced.
	Differences []Difference `dynamodbav:"differences" json:"differences"`
	Uncleared   []BankItem   `dynamodbav:"uncleared" json:"uncleared"`
	// UnclearedOmitted: the record was too large to keep the list (the
	// totals stay; a preview of the date lists the items again).
	UnclearedOmitted bool `dynamodbav:"unclearedOmitted,omitempty" json:"unclearedOmitted,omitempty"`
	// Ledgers are the client ledger balances as of the date. A signed-off
	// record too large for one item keeps the figures and drops this list
	// (LedgersOmitted); nothing can be dated on or before a locked date, so
	// a preview of that date gives the same balances again.
	Ledgers        []LedgerBalance `dynamodbav:"ledgers" json:"ledgers,omitempty"`
	LedgersOmitted bool            `dynamodbav:"ledgersOmitted,omitempty" json:"ledgersOmitted,omitempty"`
	SignedOffBy    string          `dynamodbav:"signedOffBy,omitempty" json:"signedOffBy,omitempty"`
	SignedOffAt    *time.Time      `dynamodbav:"signedOffAt,omitempty" json:"signedOffAt,omitempty"`
	Note           string          `dynamodbav:"note,omitempty" json:"note,omitempty"`
}

// Difference is one disagreement between the three balances, or a ledger
// below zero as of the date.
type Difference struct {
	Kind     string `dynamodbav:"kind" json:"kind"` // bankToJournal, journalToLedgers, ledgerToMatters, negativeLedger
	Amount   int64  `dynamodbav:"amount" json:"amount"`
	ClientID string `dynamodbav:"clientId,omitempty" json:"clientId,omitempty"`
	Detail   string `dynamodbav:"detail" json:"detail"`
}

// LedgerBalance is a ledger's balance as of a date.
type LedgerBalance struct {
	ClientID  string `dynamodbav:"clientId,omitempty" json:"clientId,omitempty"`
	FirmFunds bool   `dynamodbav:"firmFunds,omitempty" json:"firmFunds,omitempty"`
	Balance   int64  `dynamodbav:"balance" json:"balance"`
}

// MaxBankBalance bounds a statement balance (either sign), in minor units.
const MaxBankBalance int64 = 1_000_000_000_000_000

// readTries is how often a reconciliation reads again when entries were
// posted while it read.
const readTries = 3

// Reconcile computes a reconciliation as of asOf against the statement's
// bankBalance. It reads the stored balances and only the entries that
// matter for the date: those dated after it (to roll the balances back) and
// the bank items not cleared by it. Never the whole journal.
func (s *Service) Reconcile(ctx context.Context, orgID, accountID, asOf string, bankBalance int64) (Reconciliation, int64, error) {
	for range readTries {
		acct, err := s.Account(ctx, orgID, accountID)
		if err != nil {
			return Reconciliation{}, 0, err
		}
		rec, err := s.reconcileRead(ctx, orgID, acct, asOf, bankBalance)
		if err != nil {
			return Reconciliation{}, 0, err
		}
		again, err := s.Account(ctx, orgID, accountID)
		if err != nil {
			return Reconciliation{}, 0, err
		}
		if again.Version == acct.Version {
			return rec, acct.Version, nil
		}
	}
	return Reconciliation{}, 0, fault.E(fault.Conflict, "Entries kept being posted to this account while it was being reconciled; try again.")
}

func (s *Service) reconcileRead(ctx context.Context, orgID string, acct Account, asOf string, bankBalance int64) (Reconciliation, error) {
	pk := tenant.PK(orgID)
	laterRows, err := store.QueryAll[entryRow](ctx, s.DB, store.Query{PK: pk, Consistent: true,
		SKFrom: entrySK(acct.ID, asOf, notCleared), SKTo: entryPfx + acct.ID + "#" + notCleared})
	if err != nil {
		return Reconciliation{}, err
	}
	later := toEntries(laterRows)
	ledgerRows, err := store.QueryAll[ledgerRow](ctx, s.DB, store.Query{PK: pk, SKPrefix: ledgerPfx + acct.ID + "#", Consistent: true})
	if err != nil {
		return Reconciliation{}, err
	}
	ledgers := make([]Ledger, len(ledgerRows))
	for i, r := range ledgerRows {
		ledgers[i] = r.toLedger()
	}
	open, err := store.QueryAll[BankItem](ctx, s.DB, store.Query{PK: pk, Consistent: true,
		SKFrom: bankSK(acct.ID, asOf, notCleared, ""), SKTo: bankPfx + acct.ID + "#" + notCleared + notCleared})
	if err != nil {
		return Reconciliation{}, err
	}
	return figures(acct, asOf, bankBalance, later, ledgers, open), nil
}

// figures is the arithmetic of a reconciliation, on what was read: the
// account, the entries dated after asOf, the stored ledger balances and the
// bank items cleared after asOf or not at all.
func figures(acct Account, asOf string, bankBalance int64, later []Entry, ledgers []Ledger, open []BankItem) Reconciliation {
	rec := Reconciliation{AccountID: acct.ID, Currency: acct.Currency, AsOf: asOf, BankBalance: bankBalance,
		JournalBalance: acct.Balance, Differences: []Difference{}, Uncleared: []BankItem{}, Ledgers: []LedgerBalance{}}
	totals := map[string]int64{} // ledger → balance as of asOf
	parts := map[string]int64{}  // ledger → sum of its parts now
	var keys []string
	for _, l := range ledgers {
		key := l.ClientID
		if l.FirmFunds {
			key = firmLedger
		}
		if l.Bucket != "" {
			parts[key] += l.Balance
			continue
		}
		totals[key] = l.Balance
		keys = append(keys, key)
	}
	for _, key := range keys {
		if parts[key] != totals[key] {
			rec.Differences = append(rec.Differences, Difference{Kind: "ledgerToMatters", ClientID: clientOf(key), Amount: totals[key] - parts[key],
				Detail: "The ledger's total differs from the sum of its matters and unallocated funds."})
		}
	}
	// Roll back what was dated after asOf.
	for _, e := range later {
		rec.JournalBalance -= e.Change
		key := ledgerOf(e)
		if _, ok := totals[key]; !ok {
			keys = append(keys, key)
		}
		totals[key] -= e.Change
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	for _, key := range keys {
		bal := totals[key]
		rec.ClientLedgersTotal += bal
		if key == firmLedger {
			rec.FirmFunds = bal
		}
		if bal != 0 {
			rec.Ledgers = append(rec.Ledgers, LedgerBalance{ClientID: clientOf(key), FirmFunds: key == firmLedger, Balance: bal})
		}
		if bal < 0 {
			rec.Differences = append(rec.Differences, Difference{Kind: "negativeLedger", ClientID: clientOf(key), Amount: bal,
				Detail: "This ledger was below zero on " + asOf + ": an entry dated before then drew on funds deposited later."})
		}
	}
	for _, b := range open {
		if b.Date > asOf {
			continue
		}
		rec.Uncleared = append(rec.Uncleared, b)
		if b.Change > 0 {
			rec.DepositsInTransit += b.Change
		} else {
			rec.OutstandingChecks -= b.Change
		}
	}
	rec.AdjustedBankBalance = bankBalance + rec.DepositsInTransit - rec.OutstandingChecks
	if d := rec.AdjustedBankBalance - rec.JournalBalance; d != 0 {
		rec.Differences = append(rec.Differences, Difference{Kind: "bankToJournal", Amount: d,
			Detail: "The bank balance adjusted for uncleared items is " + Money(rec.AdjustedBankBalance, acct.Currency) +
				"; the journal says " + Money(rec.JournalBalance, acct.Currency) + "."})
	}
	if d := rec.JournalBalance - rec.ClientLedgersTotal; d != 0 {
		rec.Differences = append(rec.Differences, Difference{Kind: "journalToLedgers", Amount: d,
			Detail: "The journal balance differs from the sum of the client ledgers and firm funds by " + Money(d, acct.Currency) + "."})
	}
	rec.Balanced = len(rec.Differences) == 0
	return rec
}

func clientOf(ledger string) string {
	if ledger == firmLedger {
		return ""
	}
	return ledger
}

// ReconcileQuery checks a reconciliation's parameters: the date must have
// passed (or be today) in the org's time zone.
func (s *Service) checkAsOf(ctx context.Context, orgID, asOf string) error {
	var ck fault.Checker
	if !check.MoneyDate(&ck, "asOf", asOf, s.Now()) {
		return ck.Err()
	}
	r, err := s.load(ctx, orgID, "", nil, nil, "")
	if err != nil {
		return err
	}
	if asOf > r.today(s.Now()) {
		return fault.Fields(fault.FieldError{Field: "asOf", Message: "cannot be in the future"})
	}
	return nil
}

// Preview is a reconciliation computed, not signed off.
func (s *Service) Preview(ctx context.Context, orgID, accountID, asOf string, bankBalance int64) (Reconciliation, error) {
	if err := s.checkAsOf(ctx, orgID, asOf); err != nil {
		return Reconciliation{}, err
	}
	rec, _, err := s.Reconcile(ctx, orgID, accountID, asOf, bankBalance)
	return rec, err
}

// SignOffInput signs off a reconciliation.
type SignOffInput struct {
	AccountID   string `json:"accountId"`
	AsOf        string `json:"asOf"`
	BankBalance *int64 `json:"bankBalance"`
	Note        string `json:"note"`
}

// SignOff stores a balanced reconciliation as a signed-off record and locks
// the account's records up to its date: no entry, reversal or clearing may
// be dated on or before it afterwards, so the record stays true. It is
// refused, naming the differences, when the three balances disagree, and
// when anything was posted between its figures and its sign-off.
func (s *Service) SignOff(ctx context.Context, a caller.Caller, in SignOffInput) (Reconciliation, error) {
	in.Note = strings.TrimSpace(in.Note)
	var ck fault.Checker
	ck.Check(check.ID(in.AccountID), "accountId", "must be the id of a trust account")
	ck.Check(in.BankBalance != nil, "bankBalance", "is required: the statement's closing balance, in minor units")
	ck.Check(in.BankBalance == nil || (*in.BankBalance >= -MaxBankBalance && *in.BankBalance <= MaxBankBalance), "bankBalance", "is out of range")
	check.Text(&ck, "note", in.Note, false, 1000, true)
	if err := ck.Err(); err != nil {
		return Reconciliation{}, err
	}
	if err := s.checkAsOf(ctx, a.OrgID, in.AsOf); err != nil {
		return Reconciliation{}, err
	}
	rec, version, err := s.Reconcile(ctx, a.OrgID, in.AccountID, in.AsOf, *in.BankBalance)
	if fault.Is(err, fault.NotFound) {
		return Reconciliation{}, fault.Fields(fault.FieldError{Field: "accountId", Message: "no such trust account"})
	}
	if err != nil {
		return Reconciliation{}, err
	}
	acct, err := s.Account(ctx, a.OrgID, in.AccountID)
	if err != nil {
		return Reconciliation{}, err
	}
	if isLocked(acct, in.AsOf) {
		return Reconciliation{}, locked(acct, "asOf", in.AsOf)
	}
	if !rec.Balanced {
		kinds := make([]string, len(rec.Differences))
		for i, d := range rec.Differences {
			kinds[i] = d.Kind + " " + Money(d.Amount, rec.Currency)
		}
		return Reconciliation{}, fault.Refused(RuleUnbalanced, "The reconciliation as of %s does not balance (%s); find the differences before signing it off.",
			in.AsOf, strings.Join(kinds, ", "))
	}
	now := s.Now().UTC()
	rec.ID, rec.SignedOffBy, rec.SignedOffAt, rec.Note = s.NewID(), a.UserID, &now, in.Note
	rec.Keys = store.Keys{PK: tenant.PK(a.OrgID), SK: reconPfx + acct.ID + "#" + in.AsOf, Type: "trustReconciliation"}
	var t txn
	w, err := s.DB.Put(rec, store.NotExists())
	// Too large for one item: keep the figures, drop the lists (the ledger
	// balances first). Both can be produced again for a locked date.
	for _, drop := range []func(){
		func() { rec.Ledgers, rec.LedgersOmitted = nil, true },
		func() { rec.Uncleared, rec.UnclearedOmitted = nil, true },
	} {
		if err == nil && itemSize(w.Put.Item) > maxRecordSize {
			drop()
			w, err = s.DB.Put(rec, store.NotExists())
		}
	}
	t.addErr(w, err)
	lock := notLocked(in.AsOf)
	lock.Expr += " AND #ver = :ver"
	lock.Names["#ver"], lock.Values[":ver"] = "version", store.N(version)
	t.add(s.DB.Update(tenant.PK(a.OrgID), accountSK(acct.ID), "SET #locked = :date, #last = :id ADD #ver :one", lock,
		map[string]string{"#last": "lastReconciliationId"}, map[string]types.AttributeValue{":id": store.S(rec.ID), ":one": store.N(1)}),
		func() error {
			return fault.E(fault.Conflict, "The account changed while this reconciliation was being signed off; run it again.")
		})
	ae := activity.Entry{Action: "trust.reconciliation.signed", EntityType: "trustReconciliation", EntityID: rec.ID,
		Detail: "as of " + in.AsOf + ", balance " + Money(rec.JournalBalance, rec.Currency)}
	if err := s.commit(ctx, a, access.WriteTrust, ae, &t); err != nil {
		return Reconciliation{}, err
	}
	return rec, nil
}

// Reconciliations pages through an account's signed-off reconciliations,
// newest first, without their ledger lists (a page of full records could
// outgrow a response); asOf picks the one of that date, in full.
func (s *Service) Reconciliations(ctx context.Context, orgID, accountID, asOf string, limit int32, start store.StartKey) ([]Reconciliation, store.StartKey, error) {
	var out []Reconciliation
	next, err := s.DB.QueryPage(ctx, store.Query{PK: tenant.PK(orgID), SKPrefix: reconPfx + accountID + "#" + asOf, Limit: limit, StartKey: start, Consistent: true}, &out)
	if asOf == "" {
		for i := range out {
			out[i].Ledgers = nil
		}
	}
	return out, next, err
}

// maxRecordSize keeps a signed-off record within DynamoDB's 400 KB item
// limit, with room for the transaction's overhead.
const maxRecordSize = 350 << 10

// itemSize is an item's size as DynamoDB counts it, near enough: names and
// values in bytes (numbers count as their digits).
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return len(v.Value)
	case *types.AttributeValueMemberL:
		n := 3
		for _, x := range v.Value {
			n += 1 + valueSize(x)
		}
		return n
	case *types.AttributeValueMemberM:
		return 3 + itemSize(v.Value)
	}
	return 1
}
