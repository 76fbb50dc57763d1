package trust

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

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

// Service implements trust accounting.
type Service struct {
	DB    *store.DB
	Log   *slog.Logger
	Now   func() time.Time
	NewID func() string
}

// NewService returns a Service with ULID ids.
func NewService(db *store.DB, log *slog.Logger, now func() time.Time) *Service {
	return &Service{DB: db, Log: log, Now: now, NewID: func() string { return ulid.Make().String() }}
}

// txn is a transaction being built: its items and, for each, what a failed
// condition on it means to the caller (nil: a race to read again after).
type txn struct {
	items []types.TransactWriteItem
	why   []func() error
	err   error // an item that could not be built
}

func (t *txn) add(w types.TransactWriteItem, why func() error) {
	t.items = append(t.items, w)
	t.why = append(t.why, why)
}

// errRace answers a write that lost a race it cannot sort out by itself.
var errRace = fault.E(fault.Conflict, "The trust records changed while this was being written; try again.")

// commit runs t with its trust-log entry and the check that the caller
// still keeps the trust books. A failed condition becomes the refusal that
// item names.
func (s *Service) commit(ctx context.Context, a caller.Caller, perm access.Permission, e activity.Entry, t *txn) error {
	if t.err != nil {
		return t.err
	}
	// A transaction whose answer is lost is retried by the SDK; with a
	// request token the retry finds it done instead of failing on the
	// conditions it already met (and the caller retrying a write it thinks
	// failed).
	ctx = store.WithRequestToken(ctx, s.NewID())
	err := activity.Commit(ctx, s.DB, activity.TrustLog, a, s.Now(), perm, e, t.items...)
	var tce *store.TxCanceledError
	if !errors.As(err, &tce) {
		return err
	}
	for i, why := range t.why {
		if why != nil && tce.Failed(i) {
			return why()
		}
	}
	return errRace
}

// refs is what a write reads before it validates, in one batch.
type refs struct {
	account *Account
	loc     *time.Location // the org's time zone, for "today"
	clients map[string]*crm.Client
	matters map[string]*crm.Matter
	idem    *idempotency.Record
}

// load reads the account, the org's time zone, the clients and matters
// named, an idempotency record and any extra items, in one BatchGetItem. Ids that cannot be
// ours are not read; they are simply not found.
func (s *Service) load(ctx context.Context, orgID, accountID string, clientIDs, matterIDs []string, idemKey string, extra ...*store.KeyOut) (refs, error) {
	r := refs{loc: time.UTC, clients: map[string]*crm.Client{}, matters: map[string]*crm.Matter{}}
	pk := tenant.PK(orgID)
	var reqs []*store.KeyOut
	var acct accountRow
	var org tenant.OrgZone
	var idem idempotency.Record
	acctReq := &store.KeyOut{PK: pk, SK: accountSK(accountID), Out: &acct}
	orgReq := tenant.ZoneKey(orgID, &org)
	reqs = append(reqs, orgReq)
	reqs = append(reqs, extra...)
	if check.ID(accountID) {
		reqs = append(reqs, acctReq)
	}
	var idemReq *store.KeyOut
	if idemKey != "" {
		idemReq = &store.KeyOut{PK: pk, SK: idempotency.SK(idemScope, idemKey), Out: &idem}
		reqs = append(reqs, idemReq)
	}
	clientReqs := map[string]*store.KeyOut{}
	for _, id := range clientIDs {
		if check.ID(id) && clientReqs[id] == nil {
			c := &crm.Client{}
			clientReqs[id] = &store.KeyOut{PK: pk, SK: crm.ClientSK(id), Out: c}
			reqs = append(reqs, clientReqs[id])
		}
	}
	matterReqs := map[string]*store.KeyOut{}
	for _, id := range matterIDs {
		if check.ID(id) && matterReqs[id] == nil {
			m := &crm.Matter{}
			matterReqs[id] = &store.KeyOut{PK: pk, SK: crm.MatterSK(id), Out: m}
			reqs = append(reqs, matterReqs[id])
		}
	}
	if err := s.DB.BatchGet(ctx, reqs...); err != nil {
		return refs{}, err
	}
	if acctReq.Found {
		a := acct.toAccount()
		r.account = &a
	}
	r.loc = org.Loc()
	if idemReq != nil && idemReq.Found && idem.Live(s.Now()) {
		r.idem = &idem
	}
	for id, req := range clientReqs {
		if req.Found {
			r.clients[id] = req.Out.(*crm.Client)
		}
	}
	for id, req := range matterReqs {
		if req.Found {
			r.matters[id] = req.Out.(*crm.Matter)
		}
	}
	return r, nil
}

// today is the date in the org's time zone.
func (r refs) today(now time.Time) string { return now.In(r.loc).Format(check.DateLayout) }

// locked is the refusal of a date on or before the account's last
// signed-off reconciliation.
func locked(acct Account, field, date string) error {
	return fault.Refused(RulePeriodLocked,
		"%s %s is on or before %s, the date of this account's last signed-off reconciliation; records up to then are locked. Date the correction after it.",
		field, date, acct.LockedThrough)
}

// isLocked reports whether date falls in the account's locked period.
func isLocked(acct Account, date string) bool {
	return acct.LockedThrough != "" && date <= acct.LockedThrough
}

// notLocked is the account condition that date is after the locked period.
func notLocked(date string) *store.Cond {
	return &store.Cond{
		Expr:   "attribute_exists(PK) AND (attribute_not_exists(#locked) OR #locked < :date)",
		Names:  map[string]string{"#locked": "lockedThrough"},
		Values: map[string]types.AttributeValue{":date": store.S(date)},
	}
}

// accountChange is the account update of a write: the journal balance moves
// by change and the version by one, provided date is not locked.
func (s *Service) accountChange(orgID, accountID, date string, change int64) types.TransactWriteItem {
	c := notLocked(date)
	c.Names["#bal"], c.Names["#ver"] = "balance", "version"
	c.Values[":chg"], c.Values[":one"] = store.N(change), store.N(1)
	return s.DB.Update(tenant.PK(orgID), accountSK(accountID), "ADD #bal :chg, #ver :one", c, nil, nil)
}

// relockedWhy reads the account again to say why its condition failed.
func (s *Service) relockedWhy(ctx context.Context, orgID, accountID, field, date string) func() error {
	return func() error {
		var r accountRow
		if err := s.DB.Get(ctx, tenant.PK(orgID), accountSK(accountID), &r); err != nil {
			return err
		}
		acct := r.toAccount()
		if isLocked(acct, date) {
			return locked(acct, field, date)
		}
		return errRace
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
