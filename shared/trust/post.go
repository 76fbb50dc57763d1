package trust

import (
	"context"
	"errors"
	"slices"
	"strings"
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
)

// EntryInput is a new journal entry (API.md POST /v1/trust/entries).
type EntryInput struct {
	AccountID string `json:"accountId"`
	ClientID  string `json:"clientId"`
	MatterID  string `json:"matterId"`
	// FirmFunds posts to the firm's own funds in the account (kept to pay
	// bank charges) instead of a client's ledger.
	FirmFunds bool `json:"firmFunds"`
	// ToClientID and ToMatterID are where a transfer goes.
	ToClientID   string  `json:"toClientId"`
	ToMatterID   string  `json:"toMatterId"`
	Type         string  `json:"type"`
	Amount       int64   `json:"amount"`
	Date         string  `json:"date"`
	Description  string  `json:"description"`
	Counterparty string  `json:"counterparty"`
	Method       *Method `json:"method"`
}

// normalize trims in and checks every field rule that needs no reads; now
// bounds the date (check.MoneyDate).
func (in *EntryInput) normalize(now time.Time) error {
	in.Description = strings.TrimSpace(in.Description)
	in.Counterparty = strings.TrimSpace(in.Counterparty)
	var ck fault.Checker
	ck.Check(check.ID(in.AccountID), "accountId", "must be the id of a trust account")
	ck.Check(in.Amount >= 1 && in.Amount <= MaxAmount, "amount", "must be a whole number of minor units from 1 to "+itoa(MaxAmount))
	check.MoneyDate(&ck, "date", in.Date, now)
	check.Text(&ck, "description", in.Description, true, 500)
	ids := map[string]string{"clientId": in.ClientID, "matterId": in.MatterID, "toClientId": in.ToClientID, "toMatterId": in.ToMatterID}
	for field, v := range ids {
		ck.Check(v == "" || check.ID(v), field, "must be an id")
	}
	switch in.Type {
	case Deposit, Disbursement, Interest:
		ck.Check(in.FirmFunds == (in.ClientID == ""), "clientId", "is required, unless firmFunds is true (then leave it out)")
	case BankFee:
		// Bank charges are never paid from client funds.
		ck.Check(in.ClientID == "", "clientId", "must be left out: bank fees are paid from the firm's own funds in the account")
	case Transfer:
		ck.Check(!in.FirmFunds, "firmFunds", "transfers move money between client ledgers; firm funds leave by disbursement")
		ck.Check(in.ClientID != "", "clientId", "is required: the ledger the money leaves")
		ck.Check(in.ToClientID != "", "toClientId", "is required: the ledger the money goes to")
		ck.Check(in.ClientID != in.ToClientID || in.MatterID != in.ToMatterID, "toMatterId", "a transfer must go to another client or another matter")
		ck.Check(in.Method == nil, "method", "must be left out: a transfer between ledgers moves no money at the bank")
	default:
		ck.Add("type", `must be "deposit", "disbursement", "transfer", "bankFee" or "interest"`)
	}
	if in.Type != Transfer {
		ck.Check(in.ToClientID == "" && in.ToMatterID == "", "toClientId", "only transfers have a destination")
	}
	ck.Check(in.MatterID == "" || in.ClientID != "", "matterId", "needs the matter's clientId")
	if in.Type == Deposit || in.Type == Disbursement {
		check.Text(&ck, "counterparty", in.Counterparty, true, 200)
		ck.Check(in.Method != nil, "method", "is required: how the money moved ({kind, reference})")
	} else {
		check.Text(&ck, "counterparty", in.Counterparty, false, 200)
	}
	if m := in.Method; m != nil {
		m.Reference = strings.TrimSpace(m.Reference)
		m.ReissueReason = strings.TrimSpace(m.ReissueReason)
		switch m.Kind {
		case Check:
			ck.Check(check.Bytes(m.Reference, 1, 20, func(c byte) bool { return c != '_' && check.Word(c) }), "method.reference", "must be the check number (letters, digits and dashes, at most 20)")
		case Wire, ACH, Card, Cash:
			check.Text(&ck, "method.reference", m.Reference, false, 64)
		default:
			ck.Add("method.kind", `must be "check", "wire", "ach", "card" or "cash"`)
		}
		if m.Reissue {
			ck.Check(in.Type == Disbursement && m.Kind == Check, "method.reissue", "applies only to disbursements by check")
			check.Text(&ck, "method.reissueReason", m.ReissueReason, true, 500)
		} else {
			ck.Check(m.ReissueReason == "", "method.reissueReason", "is only for a re-issued check (reissue: true)")
		}
	}
	return ck.Err()
}

// Post records a new entry (two, for a transfer) and moves the balances it
// touches, all in one transaction. An outflow its ledger does not cover is
// refused with nothing written. With an idempotency key, a retried request
// answers the entry the first one recorded (replayed true) instead of
// recording it twice.
func (s *Service) Post(ctx context.Context, a caller.Caller, idemKey string, in EntryInput) (Entry, bool, error) {
	if err := idempotency.Check(idemKey); err != nil {
		return Entry{}, false, err
	}
	if err := in.normalize(s.Now()); err != nil {
		return Entry{}, false, err
	}
	fingerprint := idempotency.Fingerprint(in)
	p, err := s.plan(ctx, a, in, idemKey)
	if err != nil {
		return Entry{}, false, err
	}
	if p.idem != nil {
		e, err := s.replay(ctx, a.OrgID, *p.idem, fingerprint)
		return e, err == nil, err
	}
	acct, legs, moves, now := *p.account, p.legs, p.moves, p.now

	var t txn
	// The idempotency record goes first: when the same request is sent
	// twice at once, the one that loses must replay the other's entry, not
	// report the balance or the check number the other one just used.
	if idemKey != "" {
		w, err := idempotency.Claim(s.DB, a.OrgID, idemScope, idemKey, fingerprint, legs[0].sk(), now)
		t.addErr(w, err)
		t.why[0] = func() error { return idempotency.ErrClaimed }
	}
	if err := s.addLegs(ctx, &t, a.OrgID, acct, legs, moves); err != nil {
		return Entry{}, false, err
	}
	detail := in.Type + " " + Money(in.Amount, acct.Currency)
	if m := in.Method; m != nil && in.Type == Disbursement && m.Kind == Check {
		w, why, err := s.checkNumber(ctx, a.OrgID, acct.ID, legs[0].ID, m)
		if err != nil {
			return Entry{}, false, err
		}
		t.add(w, why)
		if m.Reissue {
			detail += ", check " + m.Reference + " re-issued: " + m.ReissueReason
		}
	}
	ae := activity.Entry{Action: "trust.entry.posted", EntityType: "trustEntry", EntityID: legs[0].ID,
		ClientID: in.ClientID, MatterID: in.MatterID, Detail: detail}
	err = s.commit(ctx, a, access.WriteTrust, ae, &t)
	if errors.Is(err, idempotency.ErrClaimed) {
		// The same request, sent twice at once: the other one recorded it.
		sk, err := idempotency.Replay(ctx, s.DB, a.OrgID, idemScope, idemKey, fingerprint)
		if err != nil {
			return Entry{}, false, err
		}
		e, err := s.entryAt(ctx, a.OrgID, sk)
		return e, err == nil, err
	}
	if err != nil {
		return Entry{}, false, err
	}
	return legs[0], false, nil
}

// plan is an entry laid out, with what it was checked against.
type plan struct {
	refs
	legs  []Entry
	moves []*move
	now   time.Time
}

// plan reads everything a normalized entry depends on (account, org,
// clients, matters, the balances its legs move, an idempotency claim) in
// one batch, checks it and lays it out. A live claim stops it before the
// checks: the caller replays the claim.
func (s *Service) plan(ctx context.Context, a caller.Caller, in EntryInput, idemKey string) (plan, error) {
	now := s.Now().UTC()
	// The legs are laid out before the reads, so that the ledgers they move
	// are read in the same batch as everything else.
	legs := in.legs(Account{ID: in.AccountID}, s.NewID, a.UserID, now)
	moves, ledgerReads := s.movesOf(a.OrgID, in.AccountID, legs)
	r, err := s.load(ctx, a.OrgID, in.AccountID, []string{in.ClientID, in.ToClientID}, []string{in.MatterID, in.ToMatterID}, idemKey, ledgerReads...)
	if err != nil || r.idem != nil {
		return plan{refs: r}, err
	}
	if err := in.checkRefs(r, now); err != nil {
		return plan{}, err
	}
	for i := range legs {
		legs[i].Currency = r.account.Currency
	}
	return plan{refs: r, legs: legs, moves: moves, now: now}, nil
}

// checkRefs checks what the entry refers to, as read: the account, the
// clients and matters, and its date against today and the locked period.
func (in EntryInput) checkRefs(r refs, now time.Time) error {
	var ck fault.Checker
	ck.Check(r.account != nil, "accountId", "no such trust account")
	for _, p := range []struct{ clientField, client, matterField, matter string }{
		{"clientId", in.ClientID, "matterId", in.MatterID},
		{"toClientId", in.ToClientID, "toMatterId", in.ToMatterID},
	} {
		if p.client != "" {
			ck.Check(r.clients[p.client] != nil, p.clientField, "no such client")
		}
		if p.matter != "" {
			m := r.matters[p.matter]
			ck.Check(m != nil, p.matterField, "no such matter")
			ck.Check(m == nil || m.ClientID == p.client, p.matterField, "is a matter of another client")
		}
	}
	ck.Check(in.Date <= r.today(now), "date", "cannot be in the future")
	if err := ck.Err(); err != nil {
		return err
	}
	if isLocked(*r.account, in.Date) {
		return locked(*r.account, "date", in.Date)
	}
	return nil
}

// legs turns in into its entries: one, or for a transfer the leg that
// leaves one ledger and the leg that enters the other.
func (in EntryInput) legs(acct Account, newID func() string, userID string, now time.Time) []Entry {
	base := Entry{
		AccountID: acct.ID, Currency: acct.Currency, ClientID: in.ClientID, MatterID: in.MatterID, FirmFunds: in.FirmFunds || in.Type == BankFee,
		Type: in.Type, Amount: in.Amount, Change: in.Amount, Date: in.Date, Description: in.Description,
		Counterparty: in.Counterparty, Method: in.Method, Bank: in.Type != Transfer, EnteredBy: userID, EnteredAt: now,
	}
	if in.Type == Disbursement || in.Type == BankFee || in.Type == Transfer {
		base.Change = -in.Amount
	}
	out := base
	out.ID = newID()
	if in.Type != Transfer {
		return []Entry{out}
	}
	into := base
	into.ID, into.ClientID, into.MatterID, into.Change = newID(), in.ToClientID, in.ToMatterID, in.Amount
	return pair(out, into)
}

// pair joins two transfer legs.
func pair(a, b Entry) []Entry {
	a.TransferID, b.TransferID = a.ID, a.ID
	a.CounterpartID, b.CounterpartID = b.ID, a.ID
	a.CounterpartSK, b.CounterpartSK = b.sk(), a.sk()
	return []Entry{a, b}
}

// ref is where an entry is, by id.
type ref struct {
	store.Keys
	AccountID     string `dynamodbav:"accountId"`
	EntrySK       string `dynamodbav:"entrySK"`
	CounterpartSK string `dynamodbav:"counterpartSK,omitempty"`
}

// move is what the legs of one write do to one stored balance (a
// transaction may touch an item once, so a transfer between two matters of
// one client moves its ledger total by their sum, zero), and that balance
// as read before the write.
type move struct {
	row    ledgerRow
	change int64
	read   ledgerRow
}

// movesOf lays out the balances legs move, in a stable order, with the
// reads that fetch their current state.
func (s *Service) movesOf(orgID, accountID string, legs []Entry) ([]*move, []*store.KeyOut) {
	var out []*move
	bySK := map[string]*move{}
	for _, e := range legs {
		for _, l := range []Ledger{{}, {MatterID: e.MatterID, Bucket: bucketOf(e)}} {
			l.AccountID, l.ClientID, l.FirmFunds = accountID, e.ClientID, e.FirmFunds
			row := toLedgerRow(orgID, l)
			if bySK[row.SK] == nil {
				bySK[row.SK] = &move{row: row}
				out = append(out, bySK[row.SK])
			}
			bySK[row.SK].change += e.Change
		}
	}
	reads := make([]*store.KeyOut, len(out))
	for i, m := range out {
		reads[i] = &store.KeyOut{PK: m.row.PK, SK: m.row.SK, Out: &m.read}
	}
	return out, reads
}

// addLegs adds to t everything the legs write: the account's journal
// balance (on a date that must not be locked), the balances in moves (read
// before), the count of trust entries on the clients and matters named, the
// entries, their id references and bank items. All legs share one date.
// Money may not leave a balance dated before its latest entry: its balance
// on the days between would have been below zero had the entries come in
// date order, which the rules forbid as much as a negative balance today.
func (s *Service) addLegs(ctx context.Context, t *txn, orgID string, acct Account, legs []Entry, moves []*move) error {
	pk := tenant.PK(orgID)
	date := legs[0].Date
	var net int64
	clients, matters := map[string]int64{}, map[string]int64{}
	var clientOrder, matterOrder []string
	for _, e := range legs {
		net += e.Change
		if !e.FirmFunds {
			if _, ok := clients[e.ClientID]; !ok {
				clientOrder = append(clientOrder, e.ClientID)
			}
			clients[e.ClientID]++
		}
		if e.MatterID != "" {
			if _, ok := matters[e.MatterID]; !ok {
				matterOrder = append(matterOrder, e.MatterID+"#"+e.ClientID)
			}
			matters[e.MatterID]++
		}
	}
	t.add(s.accountChange(orgID, acct.ID, date, net), s.relockedWhy(ctx, orgID, acct.ID, "date", date))
	for _, m := range moves {
		m.row.Currency = acct.Currency
		if m.change < 0 && date < m.read.LastDate {
			return backdated(m.row.toLedger(), date, m.read.LastDate)
		}
		t.add(s.ledgerMove(m.row, m.change, date, m.read.LastDate), s.shortWhy(ctx, m.row, -m.change, date))
	}
	for _, id := range clientOrder {
		t.add(crm.CountClientTrust(s.DB, orgID, id, clients[id]),
			func() error { return fault.Fields(fault.FieldError{Field: "clientId", Message: "no such client"}) })
	}
	for _, mc := range matterOrder {
		id, client, _ := strings.Cut(mc, "#")
		t.add(crm.CountMatterTrust(s.DB, orgID, id, client, matters[id]),
			func() error { return fault.Fields(fault.FieldError{Field: "matterId", Message: "no such matter"}) })
	}
	for _, e := range legs {
		w, err := s.DB.Put(toEntryRow(orgID, e), store.NotExists())
		t.addErr(w, err)
		w, err = s.DB.Put(ref{Keys: store.Keys{PK: pk, SK: pointerPfx + e.ID, Type: "trustEntryRef"}, AccountID: e.AccountID, EntrySK: e.sk(), CounterpartSK: e.CounterpartSK}, store.NotExists())
		t.addErr(w, err)
		if e.Bank && e.ClearedOn == "" {
			w, err = s.DB.Put(bankItemOf(orgID, e, notCleared), nil)
			t.addErr(w, err)
		}
	}
	return nil
}

// ledgerName says which balance a row is, for refusals.
func ledgerName(row Ledger) string {
	switch {
	case row.FirmFunds && row.Bucket == "":
		return "the firm's own funds in the account (which pay bank fees; deposit firm funds to cover them)"
	case row.FirmFunds:
		return "the firm's own funds in the account"
	case row.Bucket == generalBucket:
		return "client " + row.ClientID + "'s funds not held for a matter"
	case row.Bucket != "":
		return "matter " + row.MatterID + "'s trust balance"
	}
	return "client " + row.ClientID + "'s trust ledger"
}

func backdated(row Ledger, date, last string) error {
	return fault.Refused(RuleBackdated, "Refused: %s has an entry dated %s; money cannot leave it with the earlier date %s, or its balance would have been below zero in between. Date this on or after %s.",
		ledgerName(row), last, date, last)
}

// addErr adds an item built without a condition that can fail for a reason
// of its own; a marshal error (a bug) surfaces when the transaction runs.
func (t *txn) addErr(w types.TransactWriteItem, err error) {
	if err != nil {
		t.err = errors.Join(t.err, err)
	}
	t.add(w, nil)
}

// ledgerMove is the update of one stored balance by change on date, whose
// latest entry was dated last when read. An outflow holds only while the
// balance covers it and no later-dated entry has come, which is what keeps
// every ledger at zero or above, as of any date, under any interleaving of
// requests. A write dated after the latest entry moves that date forward.
func (s *Service) ledgerMove(row ledgerRow, change int64, date, last string) types.TransactWriteItem {
	names := map[string]string{"#bal": "balance", "#acc": "accountId", "#cur": "currency", "#type": "type"}
	values := map[string]types.AttributeValue{":chg": store.N(change), ":acc": store.S(row.AccountID), ":cur": store.S(row.Currency), ":type": store.S(row.Type)}
	sets := []string{"#acc = :acc", "#cur = :cur", "#type = :type"}
	for name, v := range map[string]string{"clientId": row.ClientID, "matterId": row.MatterID, "bucket": row.Bucket} {
		if v != "" {
			names["#"+name], values[":"+name] = name, store.S(v)
			sets = append(sets, "#"+name+" = :"+name)
		}
	}
	if row.FirmFunds {
		names["#firm"], values[":firm"] = "firmFunds", store.Bool(true)
		sets = append(sets, "#firm = :firm")
	}
	var conds []string
	if change < 0 || date > last {
		names["#last"], values[":date"] = "lastDate", store.S(date)
		sets = append(sets, "#last = :date")
		conds = append(conds, "(attribute_not_exists(#last) OR #last <= :date)")
	}
	if change < 0 {
		values[":need"] = store.N(-change)
		conds = append(conds, "#bal >= :need")
	}
	var cond *store.Cond
	if len(conds) > 0 {
		cond = &store.Cond{Expr: strings.Join(conds, " AND ")}
	}
	slices.Sort(sets)
	return s.DB.Update(row.PK, row.SK, "SET "+strings.Join(sets, ", ")+" ADD #bal :chg", cond, names, values)
}

// shortWhy explains a refused ledger move: the balance does not cover it,
// or an entry dated after it arrived meanwhile.
func (s *Service) shortWhy(ctx context.Context, row ledgerRow, need int64, date string) func() error {
	return func() error {
		var cur ledgerRow
		err := s.DB.Get(ctx, row.PK, row.SK, &cur)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if need > 0 && cur.Balance < need {
			return fault.Refused(RuleNoNegative, "Refused: %s holds %s, less than the %s this needs; a trust balance may never go below zero.",
				ledgerName(row.toLedger()), Money(cur.Balance, row.Currency), Money(need, row.Currency))
		}
		if need > 0 && cur.LastDate > date {
			return backdated(row.toLedger(), date, cur.LastDate)
		}
		return errRace
	}
}

// checkNumber is the write that claims a disbursement's check number on the
// account: once, unless the request says it is a deliberate re-issue.
func (s *Service) checkNumber(ctx context.Context, orgID, accountID, entryID string, m *Method) (types.TransactWriteItem, func() error, error) {
	pk, sk := tenant.PK(orgID), checkPfx+accountID+"#"+checkKey(m.Reference)
	if m.Reissue {
		return s.DB.Update(pk, sk, "SET #e = :e, #type = :type ADD #n :one", nil,
			map[string]string{"#e": "entryId", "#n": "issued", "#type": "type"},
			map[string]types.AttributeValue{":e": store.S(entryID), ":one": store.N(1), ":type": store.S("trustCheck")}), nil, nil
	}
	w, err := s.DB.Put(struct {
		store.Keys
		EntryID string `dynamodbav:"entryId"`
		Issued  int    `dynamodbav:"issued"`
	}{store.Keys{PK: pk, SK: sk, Type: "trustCheck"}, entryID, 1}, store.NotExists())
	return w, func() error {
		var used struct {
			EntryID string `dynamodbav:"entryId"`
		}
		if err := s.DB.Get(ctx, pk, sk, &used); err != nil {
			return err
		}
		return fault.Refused(RuleCheckUsed, "Check number %s was already used on this account (entry %s). To issue it again, say so: method.reissue true with a reissueReason.", m.Reference, used.EntryID)
	}, err
}

// checkKey is the check number a claim is kept under: the number as the
// bank reads it, so "077", "77" and "0077" are one check, as are "a-12" and
// "A-12". The entry keeps the reference as typed.
func checkKey(ref string) string {
	k := strings.TrimLeft(strings.ToUpper(ref), "0")
	if k == "" {
		return "0" // check number 0, however many zeros it was typed with
	}
	return k
}

// idemScope is the trust entries' idempotency keys.
const idemScope = "trust-entry"

// replay answers a repeated request with the entry the first one recorded,
// and refuses a different request sent with the same key.
func (s *Service) replay(ctx context.Context, orgID string, rec idempotency.Record, fingerprint string) (Entry, error) {
	if err := rec.Matches(fingerprint); err != nil {
		return Entry{}, err
	}
	return s.entryAt(ctx, orgID, rec.Ref)
}

// entryAt reads the entry at sort key sk.
func (s *Service) entryAt(ctx context.Context, orgID, sk string) (Entry, error) {
	var r entryRow
	err := s.DB.Get(ctx, tenant.PK(orgID), sk, &r)
	return r.toEntry(), err
}
