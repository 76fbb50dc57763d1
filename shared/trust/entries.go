package trust

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// BankItem is an entry as the bank sees it, filed by the date it cleared
// (or under "not yet"): reconciliation reads only the items not cleared as
// of its date, never the whole journal.
type BankItem struct {
	store.Keys   `json:"-"`
	EntryID      string  `dynamodbav:"entryId" json:"entryId"`
	Date         string  `dynamodbav:"date" json:"date"`
	Type         string  `dynamodbav:"entryType" json:"type"`
	Change       int64   `dynamodbav:"change" json:"change"`
	ClientID     string  `dynamodbav:"clientId,omitempty" json:"clientId,omitempty"`
	MatterID     string  `dynamodbav:"matterId,omitempty" json:"matterId,omitempty"`
	FirmFunds    bool    `dynamodbav:"firmFunds,omitempty" json:"firmFunds,omitempty"`
	Description  string  `dynamodbav:"description" json:"description"`
	Counterparty string  `dynamodbav:"counterparty,omitempty" json:"counterparty,omitempty"`
	Method       *Method `dynamodbav:"method,omitempty" json:"method,omitempty"`
	ClearedOn    string  `dynamodbav:"clearedOn,omitempty" json:"clearedOn,omitempty"`
}

func bankItemOf(orgID string, e Entry, cleared string) BankItem {
	b := BankItem{
		Keys:    store.Keys{PK: tenant.PK(orgID), SK: bankSK(e.AccountID, cleared, e.Date, e.ID), Type: "trustBankItem"},
		EntryID: e.ID, Date: e.Date, Type: e.Type, Change: e.Change, ClientID: e.ClientID, MatterID: e.MatterID,
		FirmFunds: e.FirmFunds, Description: e.Description, Counterparty: e.Counterparty, Method: e.Method,
	}
	if cleared != notCleared {
		b.ClearedOn = cleared
	}
	return b
}

// moveToCleared adds to t the move of e's bank item from "not cleared" to
// cleared on date.
func (s *Service) moveToCleared(t *txn, orgID string, e Entry, date string) {
	t.add(s.DB.Delete(tenant.PK(orgID), bankSK(e.AccountID, notCleared, e.Date, e.ID), store.Exists()), nil)
	w, err := s.DB.Put(bankItemOf(orgID, e, date), nil)
	t.addErr(w, err)
}

// Entry reads one entry by id.
func (s *Service) Entry(ctx context.Context, orgID, id string) (Entry, error) {
	e, _, _, err := s.entry(ctx, orgID, id, false)
	return e, err
}

var errNoEntry = fault.E(fault.NotFound, "No such trust entry.")

// entry reads an entry, for a transfer leg the other leg, and, for a write,
// what load reads for its account, in one batch after the id reference.
func (s *Service) entry(ctx context.Context, orgID, id string, forWrite bool) (Entry, *Entry, refs, error) {
	if !check.ID(id) {
		return Entry{}, nil, refs{}, errNoEntry
	}
	var r ref
	err := s.DB.Get(ctx, tenant.PK(orgID), pointerPfx+id, &r)
	if errors.Is(err, store.ErrNotFound) {
		return Entry{}, nil, refs{}, errNoEntry
	}
	if err != nil {
		return Entry{}, nil, refs{}, err
	}
	var e, other entryRow
	reqs := []*store.KeyOut{{PK: tenant.PK(orgID), SK: r.EntrySK, Out: &e}}
	if r.CounterpartSK != "" {
		reqs = append(reqs, &store.KeyOut{PK: tenant.PK(orgID), SK: r.CounterpartSK, Out: &other})
	}
	var loaded refs
	if forWrite {
		loaded, err = s.load(ctx, orgID, r.AccountID, nil, nil, "", reqs...)
	} else {
		err = s.DB.BatchGet(ctx, reqs...)
	}
	if err != nil {
		return Entry{}, nil, refs{}, err
	}
	if !reqs[0].Found || (forWrite && loaded.account == nil) {
		return Entry{}, nil, refs{}, errNoEntry
	}
	if len(reqs) > 1 && reqs[1].Found {
		o := other.toEntry()
		return e.toEntry(), &o, loaded, nil
	}
	return e.toEntry(), nil, loaded, nil
}

// ReverseInput is a reversal: when, and why.
type ReverseInput struct {
	Date   string `json:"date"` // default today in the org's time zone
	Reason string `json:"reason"`
}

// Reverse corrects a mistake the only way the journal allows: a new entry
// that undoes the original, pointing to it (for a transfer, one per leg).
// The reversal is refused like any entry when it would take a ledger below
// zero (the deposit it undoes was already spent) or falls in a locked
// period; an entry on a signed-off reconciliation is reversed with a later
// date and shows up in the next reconciliation.
func (s *Service) Reverse(ctx context.Context, a caller.Caller, id string, in ReverseInput) (Entry, error) {
	in.Reason = strings.TrimSpace(in.Reason)
	var ck fault.Checker
	check.Text(&ck, "reason", in.Reason, true, 500)
	if in.Date != "" {
		check.MoneyDate(&ck, "date", in.Date, s.Now())
	}
	if err := ck.Err(); err != nil {
		return Entry{}, err
	}
	orig, other, r, err := s.entry(ctx, a.OrgID, id, true)
	if err != nil {
		return Entry{}, err
	}
	now := s.Now().UTC()
	if in.Date == "" {
		in.Date = r.today(now)
	}
	ck.Check(in.Date >= orig.Date, "date", "must be on or after the entry's date, "+orig.Date)
	ck.Check(in.Date <= r.today(now), "date", "cannot be in the future")
	if err := ck.Err(); err != nil {
		return Entry{}, err
	}
	if isLocked(*r.account, in.Date) {
		return Entry{}, locked(*r.account, "date", in.Date)
	}
	originals := []Entry{orig}
	if other != nil {
		originals = append(originals, *other)
	}
	for _, o := range originals {
		if o.ReversedBy != "" {
			return Entry{}, fault.Refused(RuleReversed, "Entry %s was already reversed by entry %s; reverse that reversal instead if it was wrong.", o.ID, o.ReversedBy)
		}
	}
	var legs []Entry
	for _, o := range originals {
		rev := Entry{
			ID: s.NewID(), AccountID: o.AccountID, Currency: o.Currency, ClientID: o.ClientID, MatterID: o.MatterID, FirmFunds: o.FirmFunds,
			Type: Reversal, Amount: o.Amount, Change: -o.Change, Date: in.Date, Description: "Reversal of " + o.ID + ": " + in.Reason,
			Counterparty: o.Counterparty, Method: o.Method, ReversalOf: o.ID, Bank: o.Bank, EnteredBy: a.UserID, EnteredAt: now,
		}
		// An entry reversed before it reached the bank never will, and
		// neither will its reversal: both count as cleared on that day, so
		// they drop out of the uncleared items together.
		if o.Bank && o.ClearedOn == "" {
			rev.ClearedOn = in.Date
		}
		legs = append(legs, rev)
	}
	if len(legs) == 2 {
		legs = pair(legs[0], legs[1])
	}

	moves, reads := s.movesOf(a.OrgID, orig.AccountID, legs)
	if err := s.DB.BatchGet(ctx, reads...); err != nil {
		return Entry{}, err
	}
	var t txn
	if err := s.addLegs(ctx, &t, a.OrgID, *r.account, legs, moves); err != nil {
		return Entry{}, err
	}
	for i, o := range originals {
		expr, cond := "SET #rev = :rev", "attribute_exists(PK) AND attribute_not_exists(#rev)"
		names := map[string]string{"#rev": "reversedBy"}
		values := map[string]types.AttributeValue{":rev": store.S(legs[i].ID)}
		if o.Bank && o.ClearedOn == "" {
			expr += ", #cleared = :cleared"
			cond += " AND attribute_not_exists(#cleared)"
			names["#cleared"], values[":cleared"] = "clearedOn", store.S(in.Date)
			s.moveToCleared(&t, a.OrgID, o, in.Date)
		}
		t.add(s.DB.Update(tenant.PK(a.OrgID), o.sk(), expr, &store.Cond{Expr: cond}, names, values), func() error {
			return fault.Refused(RuleReversed, "Entry %s was reversed or cleared by someone else meanwhile; read it again.", o.ID)
		})
	}
	ae := activity.Entry{Action: "trust.entry.reversed", EntityType: "trustEntry", EntityID: orig.ID,
		ClientID: orig.ClientID, MatterID: orig.MatterID, Detail: "by " + legs[0].ID + ": " + in.Reason}
	if err := s.commit(ctx, a, access.WriteTrust, ae, &t); err != nil {
		return Entry{}, err
	}
	return legs[0], nil
}

// ClearInput marks an entry as on the bank statement.
type ClearInput struct {
	StatementDate string `json:"statementDate"`
}

// Clear records that an entry appeared on the bank statement of a date.
// Uncleared entries are the reconciliation's deposits in transit and
// outstanding checks. An entry clears once; transfers between ledgers never
// reach the bank.
func (s *Service) Clear(ctx context.Context, a caller.Caller, id string, in ClearInput) (Entry, error) {
	var dateCk fault.Checker
	if !check.MoneyDate(&dateCk, "statementDate", in.StatementDate, s.Now()) {
		return Entry{}, dateCk.Err()
	}
	e, _, r, err := s.entry(ctx, a.OrgID, id, true)
	if err != nil {
		return Entry{}, err
	}
	if !e.Bank {
		return Entry{}, fault.Refused(RuleNotBank, "Entry %s moved money between ledgers inside the account; it never appears on a bank statement.", e.ID)
	}
	if e.ClearedOn != "" {
		return Entry{}, fault.Refused(RuleCleared, "Entry %s already cleared on %s.", e.ID, e.ClearedOn)
	}
	var ck fault.Checker
	ck.Check(in.StatementDate >= e.Date, "statementDate", "must be on or after the entry's date, "+e.Date)
	ck.Check(in.StatementDate <= r.today(s.Now()), "statementDate", "cannot be in the future")
	if err := ck.Err(); err != nil {
		return Entry{}, err
	}
	if isLocked(*r.account, in.StatementDate) {
		return Entry{}, locked(*r.account, "statementDate", in.StatementDate)
	}
	var t txn
	t.add(s.accountChange(a.OrgID, e.AccountID, in.StatementDate, 0), s.relockedWhy(ctx, a.OrgID, e.AccountID, "statementDate", in.StatementDate))
	t.add(s.DB.Update(tenant.PK(a.OrgID), e.sk(), "SET #cleared = :cleared", &store.Cond{Expr: "attribute_exists(PK) AND attribute_not_exists(#cleared)"},
		map[string]string{"#cleared": "clearedOn"}, map[string]types.AttributeValue{":cleared": store.S(in.StatementDate)}),
		func() error {
			return fault.Refused(RuleCleared, "Entry %s was cleared or reversed by someone else meanwhile; read it again.", e.ID)
		})
	s.moveToCleared(&t, a.OrgID, e, in.StatementDate)
	ae := activity.Entry{Action: "trust.entry.cleared", EntityType: "trustEntry", EntityID: e.ID, Detail: "statement of " + in.StatementDate}
	if err := s.commit(ctx, a, access.WriteTrust, ae, &t); err != nil {
		return Entry{}, err
	}
	e.ClearedOn = in.StatementDate
	return e, nil
}
