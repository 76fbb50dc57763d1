// Package trust keeps the records of client funds held in trust (IOLTA and
// other client trust accounts, ABA Model Rule 1.15): trust bank accounts,
// an append-only journal of entries, client and matter ledgers, and
// three-way reconciliation. Matterly keeps the books; it never moves money.
//
// The rules an auditor relies on are enforced in DynamoDB, not only in Go:
// every balance changes in the same transaction that writes its entry, and
// every outflow carries the condition that the ledger it draws on covers it,
// so no interleaving of requests can take a client's, a matter's or the
// firm's ledger below zero. Entries are never updated except to record, once
// each, that they cleared the bank and that they were reversed; their
// amounts, dates, ledgers and descriptions never change.
package trust

import (
	"time"

	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Entry types. Deposits, disbursements, transfers and reversals are what
// API.md names; bank fees and interest are the lines the rules allow.
const (
	Deposit      = "deposit"
	Disbursement = "disbursement"
	Transfer     = "transfer"
	BankFee      = "bankFee"  // a bank charge, paid from the firm's own funds in the account
	Interest     = "interest" // credited to a client, or to the firm ledger to be remitted (IOLTA)
	Reversal     = "reversal"
)

// Method kinds: how money reached or left the bank account.
const (
	Check = "check"
	Wire  = "wire"
	ACH   = "ach"
	Card  = "card"
	Cash  = "cash"
)

// MaxAmount is the largest amount of one entry, in minor units (ten
// billion dollars): sums of a million of them still fit an int64.
const MaxAmount int64 = 1_000_000_000_000

// firmLedger is the ledger key of the firm's own funds kept in the account
// to pay bank charges (Rule 1.15(b)). Never a ULID, so never a client id.
const firmLedger = "FIRM"

// generalBucket is the part of a client's ledger not allocated to a matter.
const generalBucket = "GENERAL"

// Rules a refusal names (problem "rule" member).
const (
	RuleNoNegative   = "trust.no-negative-balance"
	RuleBackdated    = "trust.backdated-outflow"
	RuleCheckUsed    = "trust.check-number-used"
	RulePeriodLocked = "trust.period-locked"
	RuleReversed     = "trust.already-reversed"
	RuleCleared      = "trust.already-cleared"
	RuleUnbalanced   = "trust.reconciliation-unbalanced"
	RuleNotBank      = "trust.not-a-bank-item"
)

// Account is a trust bank account, as the API shows it (Version, which it
// leaves out, is the server's); accountRow stores it. Balance and Version
// are kept by the entries' transactions; LockedThrough by signed-off
// reconciliations.
type Account struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	BankName      string    `json:"bankName"`
	AccountLast4  string    `json:"accountLast4"`
	Currency      string    `json:"currency"` // ISO 4217, lower case as Stripe writes it
	Balance       int64     `json:"balance"`  // the journal balance, all entries
	Version       int64     `json:"-"`        // bumped by every change a reconciliation depends on
	LockedThrough string    `json:"lockedThrough,omitempty"`
	CreatedBy     string    `json:"createdBy"`
	CreatedAt     time.Time `json:"createdAt"`
}

// accountRow is the item of an Account.
type accountRow struct {
	store.Keys
	ID            string    `dynamodbav:"id"`
	Name          string    `dynamodbav:"name"`
	BankName      string    `dynamodbav:"bankName"`
	AccountLast4  string    `dynamodbav:"accountLast4"`
	Currency      string    `dynamodbav:"currency"`
	Balance       int64     `dynamodbav:"balance"`
	Version       int64     `dynamodbav:"version"`
	LockedThrough string    `dynamodbav:"lockedThrough,omitempty"`
	CreatedBy     string    `dynamodbav:"createdBy"`
	CreatedAt     time.Time `dynamodbav:"createdAt"`
}

func toAccountRow(orgID string, a Account) accountRow {
	return accountRow{Keys: store.Keys{PK: tenant.PK(orgID), SK: accountSK(a.ID), Type: "trustAccount"},
		ID: a.ID, Name: a.Name, BankName: a.BankName, AccountLast4: a.AccountLast4, Currency: a.Currency, Balance: a.Balance,
		Version: a.Version, LockedThrough: a.LockedThrough, CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt}
}

func (r accountRow) toAccount() Account {
	return Account{ID: r.ID, Name: r.Name, BankName: r.BankName, AccountLast4: r.AccountLast4, Currency: r.Currency, Balance: r.Balance,
		Version: r.Version, LockedThrough: r.LockedThrough, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt}
}

// AccountRef is what other capabilities read of a trust account: payments
// checks that an invoice paid into trust is in the account's currency.
type AccountRef struct {
	Currency string `dynamodbav:"currency"`
}

// AccountKey is the read of trust account id into out, for a BatchGet with
// the caller's other items.
func AccountKey(orgID, id string, out *AccountRef) *store.KeyOut {
	return &store.KeyOut{PK: tenant.PK(orgID), SK: accountSK(id), Out: out}
}

// Method is how money moved: a check with its number, a wire, ACH, card or
// cash, with the reference the bank or processor gave.
type Method struct {
	Kind      string `dynamodbav:"kind" json:"kind"`
	Reference string `dynamodbav:"reference,omitempty" json:"reference,omitempty"`
	// Reissue says a check number already used on the account is
	// deliberately used again (a replacement check), with the reason.
	Reissue       bool   `dynamodbav:"reissue,omitempty" json:"reissue,omitempty"`
	ReissueReason string `dynamodbav:"reissueReason,omitempty" json:"reissueReason,omitempty"`
}

// Entry is one line of the journal, as the API shows it (CounterpartSK,
// which it leaves out, is the server's); entryRow stores it. Amount is
// positive; Change is its signed effect on its ledger and on the account
// (a transfer is two entries, one per ledger, that net to zero).
type Entry struct {
	ID           string  `json:"id"`
	AccountID    string  `json:"accountId"`
	Currency     string  `json:"currency"`
	ClientID     string  `json:"clientId,omitempty"`
	MatterID     string  `json:"matterId,omitempty"`
	FirmFunds    bool    `json:"firmFunds,omitempty"`
	Type         string  `json:"type"`
	Amount       int64   `json:"amount"`
	Change       int64   `json:"change"`
	Date         string  `json:"date"`
	Description  string  `json:"description"`
	Counterparty string  `json:"counterparty,omitempty"` // who paid in, or who was paid
	Method       *Method `json:"method,omitempty"`
	// TransferID joins the two legs of a transfer; CounterpartID is the
	// other leg.
	TransferID    string `json:"transferId,omitempty"`
	CounterpartID string `json:"counterpartId,omitempty"`
	ReversalOf    string `json:"reversalOf,omitempty"`
	// Set once each, never changed: the reversing entry, and the statement
	// date the entry appeared on (or its reversal's date, for an entry
	// reversed before it reached the bank).
	ReversedBy string `json:"reversedBy,omitempty"`
	ClearedOn  string `json:"clearedOn,omitempty"`
	// Bank says the entry moved money at the bank (everything but
	// transfers between ledgers and their reversals).
	Bank      bool      `json:"bankItem"`
	EnteredBy string    `json:"enteredBy"`
	EnteredAt time.Time `json:"enteredAt"`
	// CounterpartSK locates the other leg, for its reversal.
	CounterpartSK string `json:"-"`
}

// entryRow is the item of an Entry: in the journal by date, and in its
// ledger's index (GSI1) and its matter's (GSI2).
type entryRow struct {
	store.Keys
	ID            string    `dynamodbav:"id"`
	AccountID     string    `dynamodbav:"accountId"`
	Currency      string    `dynamodbav:"currency"`
	ClientID      string    `dynamodbav:"clientId,omitempty"`
	MatterID      string    `dynamodbav:"matterId,omitempty"`
	FirmFunds     bool      `dynamodbav:"firmFunds,omitempty"`
	Type          string    `dynamodbav:"entryType"`
	Amount        int64     `dynamodbav:"amount"`
	Change        int64     `dynamodbav:"change"`
	Date          string    `dynamodbav:"date"`
	Description   string    `dynamodbav:"description"`
	Counterparty  string    `dynamodbav:"counterparty,omitempty"`
	Method        *Method   `dynamodbav:"method,omitempty"`
	TransferID    string    `dynamodbav:"transferId,omitempty"`
	CounterpartID string    `dynamodbav:"counterpartId,omitempty"`
	ReversalOf    string    `dynamodbav:"reversalOf,omitempty"`
	ReversedBy    string    `dynamodbav:"reversedBy,omitempty"`
	ClearedOn     string    `dynamodbav:"clearedOn,omitempty"`
	Bank          bool      `dynamodbav:"bank"`
	EnteredBy     string    `dynamodbav:"enteredBy"`
	EnteredAt     time.Time `dynamodbav:"enteredAt"`
	CounterpartSK string    `dynamodbav:"counterpartSK,omitempty"`
}

// sk is the sort key of e's item: an entry's account, date and id never
// change.
func (e Entry) sk() string { return entrySK(e.AccountID, e.Date, e.ID) }

func toEntryRow(orgID string, e Entry) entryRow {
	r := entryRow{
		Keys: store.Keys{PK: tenant.PK(orgID), SK: e.sk(), Type: "trustEntry",
			GSI1PK: clientLedgerPK(orgID, e.AccountID, ledgerOf(e)), GSI1SK: e.Date + "#" + e.ID},
		ID: e.ID, AccountID: e.AccountID, Currency: e.Currency, ClientID: e.ClientID, MatterID: e.MatterID, FirmFunds: e.FirmFunds,
		Type: e.Type, Amount: e.Amount, Change: e.Change, Date: e.Date, Description: e.Description, Counterparty: e.Counterparty,
		Method: e.Method, TransferID: e.TransferID, CounterpartID: e.CounterpartID, ReversalOf: e.ReversalOf, ReversedBy: e.ReversedBy,
		ClearedOn: e.ClearedOn, Bank: e.Bank, EnteredBy: e.EnteredBy, EnteredAt: e.EnteredAt, CounterpartSK: e.CounterpartSK,
	}
	if e.MatterID != "" {
		r.GSI2PK, r.GSI2SK = matterLedgerPK(orgID, e.AccountID, e.MatterID), e.Date+"#"+e.ID
	}
	return r
}

func (r entryRow) toEntry() Entry {
	return Entry{
		ID: r.ID, AccountID: r.AccountID, Currency: r.Currency, ClientID: r.ClientID, MatterID: r.MatterID, FirmFunds: r.FirmFunds,
		Type: r.Type, Amount: r.Amount, Change: r.Change, Date: r.Date, Description: r.Description, Counterparty: r.Counterparty,
		Method: r.Method, TransferID: r.TransferID, CounterpartID: r.CounterpartID, ReversalOf: r.ReversalOf, ReversedBy: r.ReversedBy,
		ClearedOn: r.ClearedOn, Bank: r.Bank, EnteredBy: r.EnteredBy, EnteredAt: r.EnteredAt, CounterpartSK: r.CounterpartSK,
	}
}

func toEntries(rows []entryRow) []Entry {
	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[i] = r.toEntry()
	}
	return out
}

// Line is an entry with the running balance after it, as a journal or a
// ledger lists it.
type Line struct {
	Entry
	Balance int64 `json:"balance"`
}

// Ledger is the stored balance of a client's (or the firm's) ledger in one
// account, or of one matter's part of it, as the API shows it (Bucket,
// which it leaves out, is the server's); ledgerRow stores it.
type Ledger struct {
	AccountID string `json:"accountId"`
	Currency  string `json:"currency"`
	ClientID  string `json:"clientId,omitempty"`
	MatterID  string `json:"matterId,omitempty"`
	FirmFunds bool   `json:"firmFunds,omitempty"`
	Bucket    string `json:"-"` // "" for a ledger's total
	Balance   int64  `json:"balance"`
	// LastDate is the date of the latest entry: money may not leave the
	// ledger with an earlier date.
	LastDate string `json:"lastDate,omitempty"`
}

// ledgerRow is the item of a Ledger. Its attributes are written by
// ledgerMove's update, never by a put.
type ledgerRow struct {
	store.Keys
	AccountID string `dynamodbav:"accountId"`
	Currency  string `dynamodbav:"currency"`
	ClientID  string `dynamodbav:"clientId,omitempty"`
	MatterID  string `dynamodbav:"matterId,omitempty"`
	FirmFunds bool   `dynamodbav:"firmFunds,omitempty"`
	Bucket    string `dynamodbav:"bucket,omitempty"`
	Balance   int64  `dynamodbav:"balance"`
	LastDate  string `dynamodbav:"lastDate,omitempty"`
}

// toLedgerRow is l's item: the ledger's total, or the part (Bucket) of it.
func toLedgerRow(orgID string, l Ledger) ledgerRow {
	ledger := l.ClientID
	if l.FirmFunds {
		ledger = firmLedger
	}
	sk := ledgerSK(l.AccountID, ledger)
	if l.Bucket != "" {
		sk = bucketSK(l.AccountID, ledger, l.Bucket)
	}
	return ledgerRow{Keys: store.Keys{PK: tenant.PK(orgID), SK: sk, Type: "trustLedger"}, AccountID: l.AccountID, Currency: l.Currency,
		ClientID: l.ClientID, MatterID: l.MatterID, FirmFunds: l.FirmFunds, Bucket: l.Bucket, Balance: l.Balance, LastDate: l.LastDate}
}

func (r ledgerRow) toLedger() Ledger {
	return Ledger{AccountID: r.AccountID, Currency: r.Currency, ClientID: r.ClientID, MatterID: r.MatterID, FirmFunds: r.FirmFunds,
		Bucket: r.Bucket, Balance: r.Balance, LastDate: r.LastDate}
}

// Key layout. Everything lives in the org's partition (tenant.PK):
//
//	TRUST#ACCT#<account>                          account
//	TRUST#E#<account>#<date>#<entry>              entry: the journal, in date order
//	TRUST#ID#<entry>                              where an entry is, by id
//	TRUST#L#<account>#<ledger>                    ledger total (client id or FIRM)
//	TRUST#L#<account>#<ledger>#<matter|GENERAL>   a ledger's part per matter
//	TRUST#U#<account>#<cleared|~>#<date>#<entry>  bank item, by the date it cleared (~: not yet)
//	TRUST#CHK#<account>#<number>                  a check number issued
//	IDEM#trust-entry#<key>                        an Idempotency-Key used (package idempotency)
//	TRUST#REC#<account>#<asOf>                    a signed-off reconciliation
//
// A client's entries are also in GSI1 (one ledger per account) and a
// matter's in GSI2, both by date.
const (
	accountPfx = "TRUST#ACCT#"
	entryPfx   = "TRUST#E#"
	pointerPfx = "TRUST#ID#"
	ledgerPfx  = "TRUST#L#"
	bankPfx    = "TRUST#U#"
	checkPfx   = "TRUST#CHK#"
	reconPfx   = "TRUST#REC#"
	// notCleared sorts after every date, so a range of items cleared after
	// a date also holds every item not cleared yet.
	notCleared = "~"
)

func accountSK(id string) string { return accountPfx + id }

// AccountSK is the sort key of a trust account, for capabilities that read one.
func AccountSK(id string) string { return accountSK(id) }

func entrySK(accountID, date, id string) string {
	return entryPfx + accountID + "#" + date + "#" + id
}

func ledgerSK(accountID, ledger string) string { return ledgerPfx + accountID + "#" + ledger }

func bucketSK(accountID, ledger, bucket string) string {
	return ledgerSK(accountID, ledger) + "#" + bucket
}

func bankSK(accountID, cleared, date, id string) string {
	return bankPfx + accountID + "#" + cleared + "#" + date + "#" + id
}

func clientLedgerPK(orgID, accountID, ledger string) string {
	return tenant.PK(orgID) + "#TRUST#" + accountID + "#C#" + ledger
}

func matterLedgerPK(orgID, accountID, matterID string) string {
	return tenant.PK(orgID) + "#TRUST#" + accountID + "#M#" + matterID
}

// ledgerOf is an entry's ledger key.
func ledgerOf(e Entry) string {
	if e.FirmFunds {
		return firmLedger
	}
	return e.ClientID
}

// bucketOf is an entry's part of its ledger.
func bucketOf(e Entry) string {
	if e.MatterID != "" {
		return e.MatterID
	}
	return generalBucket
}
