package trust

import (
	"context"
	"errors"
	"maps"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// runKey carries the running balance in a list's cursor (sealed with the
// rest of it, so it cannot be edited), so page two continues where page one
// ended without reading page one again.
const runKey = "runningBalance"

// lines reads one page of q, oldest first, with each entry's running
// balance.
func (s *Service) lines(ctx context.Context, q store.Query) ([]Line, store.StartKey, error) {
	var bal int64
	if q.StartKey != nil {
		if v, ok := q.StartKey[runKey].(*types.AttributeValueMemberN); ok {
			bal, _ = strconv.ParseInt(v.Value, 10, 64)
		}
		q.StartKey = maps.Clone(q.StartKey)
		delete(q.StartKey, runKey)
	}
	q.Forward = true
	var rows []entryRow
	next, err := s.DB.QueryPage(ctx, q, &rows)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Line, len(rows))
	for i, e := range toEntries(rows) {
		bal += e.Change
		out[i] = Line{Entry: e, Balance: bal}
	}
	if next != nil {
		next[runKey] = store.N(bal)
	}
	return out, next, nil
}

// Journal pages through an account's journal: every entry, in date order,
// with the account's running balance.
func (s *Service) Journal(ctx context.Context, orgID, accountID string, limit int32, start store.StartKey) ([]Line, store.StartKey, error) {
	return s.lines(ctx, store.Query{PK: tenant.PK(orgID), SKPrefix: entryPfx + accountID + "#", Limit: limit, StartKey: start, Consistent: true})
}

// Scope is one ledger: a client's (or the firm's own funds) in an account,
// or one matter's part of a client's.
type Scope struct {
	AccountID string
	ClientID  string
	MatterID  string
	FirmFunds bool
}

func (sc Scope) ledger() string {
	if sc.FirmFunds {
		return firmLedger
	}
	return sc.ClientID
}

// query is the index query of the scope's entries.
func (sc Scope) query(orgID string) store.Query {
	if sc.MatterID != "" {
		return store.Query{Index: store.IndexGSI2, PK: matterLedgerPK(orgID, sc.AccountID, sc.MatterID)}
	}
	return store.Query{Index: store.IndexGSI1, PK: clientLedgerPK(orgID, sc.AccountID, sc.ledger())}
}

// balanceSK is where the scope's stored balance is.
func (sc Scope) balanceSK() string {
	if sc.MatterID != "" {
		return bucketSK(sc.AccountID, sc.ledger(), sc.MatterID)
	}
	return ledgerSK(sc.AccountID, sc.ledger())
}

// LedgerView is one ledger: its balance now and a page of its entries with
// running balances.
type LedgerView struct {
	AccountID  string `json:"accountId"`
	Currency   string `json:"currency"`
	ClientID   string `json:"clientId,omitempty"`
	MatterID   string `json:"matterId,omitempty"`
	FirmFunds  bool   `json:"firmFunds,omitempty"`
	Balance    int64  `json:"balance"`
	Entries    []Line `json:"entries"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// Ledger reads a ledger's stored balance and a page of its entries.
func (s *Service) Ledger(ctx context.Context, orgID string, acct Account, sc Scope, limit int32, start store.StartKey) (LedgerView, store.StartKey, error) {
	var bal ledgerRow
	err := s.DB.Get(ctx, tenant.PK(orgID), sc.balanceSK(), &bal)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return LedgerView{}, nil, err
	}
	q := sc.query(orgID)
	q.Limit, q.StartKey = limit, start
	lines, next, err := s.lines(ctx, q)
	if err != nil {
		return LedgerView{}, nil, err
	}
	return LedgerView{AccountID: acct.ID, Currency: acct.Currency, ClientID: sc.ClientID, MatterID: sc.MatterID, FirmFunds: sc.FirmFunds,
		Balance: bal.Balance, Entries: lines}, next, nil
}

// Balances pages through the stored ledger balances: each client's (and
// the firm's) total per account, and each matter's part. A client's part
// not held for any matter is its total less its matters'.
func (s *Service) Balances(ctx context.Context, orgID, accountID string, limit int32, start store.StartKey) ([]Ledger, store.StartKey, error) {
	prefix := ledgerPfx
	if accountID != "" {
		prefix += accountID + "#"
	}
	var rows []ledgerRow
	next, err := s.DB.QueryPage(ctx, store.Query{PK: tenant.PK(orgID), SKPrefix: prefix, Forward: true, Limit: limit, StartKey: start, Consistent: true}, &rows)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Ledger, 0, len(rows))
	for _, r := range rows {
		if r.Bucket != generalBucket {
			out = append(out, r.toLedger())
		}
	}
	return out, next, nil
}
