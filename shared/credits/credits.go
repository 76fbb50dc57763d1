// Package credits is an org's AI credit balance: what AI features spend
// (summaries, text-to-speech, drafting) and owners top up. Every change is
// one transaction of a conditional balance update and a usage record, so
// concurrent requests can never overdraw the balance, and every credit
// spent or added is accounted for (who, what, when, how many).
package credits

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/idempotency"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Usage kinds.
const (
	KindSummary = "summary"
	KindSpeech  = "speech"
	KindDraft   = "draft"
	KindTopUp   = "topup"
	KindRefund  = "refund" // credits given back when the work they paid for failed
)

// MaxTopUp bounds one top-up.
const MaxTopUp = 100_000

// Usage is one change of the balance.
type Usage struct {
	store.Keys
	ID      string    `dynamodbav:"id" json:"id"`
	Kind    string    `dynamodbav:"kind" json:"kind"`
	Credits int64     `dynamodbav:"credits" json:"credits"` // negative when spent
	By      string    `dynamodbav:"by" json:"by"`           // a member id, or "system"
	Ref     string    `dynamodbav:"ref,omitempty" json:"ref,omitempty"`
	Note    string    `dynamodbav:"note,omitempty" json:"note,omitempty"`
	At      time.Time `dynamodbav:"at" json:"at"`
}

// Keys: the balance, a counter of credits spent per month, the usage
// records (newest first by ULID), and a claim per refunded usage.
const (
	balanceSK = "CREDITS"
	monthPfx  = "CREDITS#MONTH#"
	usagePfx  = "CREDITUSE#"
	refundPfx = "CREDITREFUND#"
)

// Service keeps the balances.
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

// Balance is the dashboard's view: what is left and what this month used.
type Balance struct {
	Balance    int64 `json:"balance"`
	MonthSpent int64 `json:"monthToDate"`
}

// Balance reads an org's balance and this month's spending (UTC months).
func (s *Service) Balance(ctx context.Context, orgID string) (Balance, error) {
	var b, m struct {
		N int64 `dynamodbav:"n"`
	}
	reqs := []*store.KeyOut{{PK: tenant.PK(orgID), SK: balanceSK, Out: &b}, {PK: tenant.PK(orgID), SK: monthPfx + s.Now().UTC().Format("2006-01"), Out: &m}}
	if err := s.DB.BatchGet(ctx, reqs...); err != nil {
		return Balance{}, err
	}
	return Balance{Balance: b.N, MonthSpent: m.N}, nil
}

// Usage pages through the usage records, newest first.
func (s *Service) Usage(ctx context.Context, orgID string, limit int32, start store.StartKey) ([]Usage, store.StartKey, error) {
	var out []Usage
	next, err := s.DB.QueryPage(ctx, store.Query{PK: tenant.PK(orgID), SKPrefix: usagePfx, Limit: limit, StartKey: start, Consistent: true}, &out)
	return out, next, err
}

func (s *Service) usage(orgID, kind, by, ref, note string, n int64, now time.Time) (Usage, types.TransactWriteItem, error) {
	return s.usageAs(s.NewID(), orgID, kind, by, ref, note, n, now)
}

func (s *Service) usageAs(id, orgID, kind, by, ref, note string, n int64, now time.Time) (Usage, types.TransactWriteItem, error) {
	u := Usage{ID: id, Kind: kind, Credits: n, By: by, Ref: ref, Note: note, At: now}
	u.Keys = store.Keys{PK: tenant.PK(orgID), SK: usagePfx + u.ID, Type: "creditUsage"}
	w, err := s.DB.Put(u, store.NotExists())
	return u, w, err
}

// change is the balance update by n; a spend (n < 0) holds only while the
// balance covers it.
func (s *Service) change(orgID string, n int64) types.TransactWriteItem {
	var cond *store.Cond
	values := map[string]types.AttributeValue{":n": store.N(n)}
	if n < 0 {
		cond = &store.Cond{Expr: "#n >= :need", Values: map[string]types.AttributeValue{":need": store.N(-n)}}
	}
	return s.DB.Update(tenant.PK(orgID), balanceSK, "ADD #n :n", cond, map[string]string{"#n": "n"}, values)
}

// ErrOut is the 402 of a spend the balance does not cover.
func errOut(balance, need int64) error {
	return fault.E(fault.PaymentRequired, "Out of AI credits: the balance is %d and this needs %d. An owner can top up.", balance, need)
}

// Spend takes n credits for a piece of AI work (kind, ref: what it paid
// for) in one transaction with its usage record, or answers 402 with
// nothing changed. extra items join the transaction (the work's own
// record), so the work and its payment land together; their failures come
// back as a *store.TxCanceledError with indexes from 3 on.
func (s *Service) Spend(ctx context.Context, orgID, by, kind, ref string, n int64, extra ...types.TransactWriteItem) (Usage, error) {
	return s.SpendAs(ctx, s.NewID(), orgID, by, kind, ref, n, extra...)
}

// SpendAs is Spend with the usage record's id chosen by the caller (the
// work's own id), so the work's record can name it in the same transaction.
// A failed extra item is reported as such even when the balance is short
// too: "this was already paid for" must win over 402.
func (s *Service) SpendAs(ctx context.Context, usageID, orgID, by, kind, ref string, n int64, extra ...types.TransactWriteItem) (Usage, error) {
	if n <= 0 {
		return Usage{}, errors.New("credits: spend of a non-positive amount")
	}
	now := s.Now().UTC()
	u, put, err := s.usageAs(usageID, orgID, kind, by, ref, "", -n, now)
	if err != nil {
		return Usage{}, err
	}
	month := s.DB.Update(tenant.PK(orgID), monthPfx+now.Format("2006-01"), "ADD #n :n", nil, map[string]string{"#n": "n"},
		map[string]types.AttributeValue{":n": store.N(n)})
	err = s.DB.Transact(ctx, append([]types.TransactWriteItem{s.change(orgID, -n), put, month}, extra...)...)
	for i := range extra {
		if store.Failed(err, 3+i) {
			return Usage{}, err
		}
	}
	if store.Failed(err, 0) {
		b, berr := s.Balance(ctx, orgID)
		if berr != nil {
			return Usage{}, berr
		}
		return Usage{}, errOut(b.Balance, n)
	}
	return u, err
}

// Refund gives back the credits of a usage whose work failed, once: a
// refund record points to it, and a second refund of it changes nothing.
// It runs to the end even when the caller's request has ended (a refund
// must not be lost to a timeout).
//
// extra items join the refund's transaction (the work's "failed" record),
// so the record and the refund land together; they fail from index 4 on.
// When the usage was refunded before, the extras are not written and the
// answer is ErrRefunded (nil without extras).
func (s *Service) Refund(ctx context.Context, orgID, usageID, reason string, extra ...types.TransactWriteItem) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var u Usage
	if err := s.DB.Get(ctx, tenant.PK(orgID), usagePfx+usageID, &u); err != nil {
		return err
	}
	if u.Credits >= 0 {
		return errors.New("credits: only a spend can be refunded")
	}
	now := s.Now().UTC()
	_, put, err := s.usage(orgID, KindRefund, "system", usageID, reason, -u.Credits, now)
	if err != nil {
		return err
	}
	claim, err := s.DB.Put(store.Keys{PK: tenant.PK(orgID), SK: refundPfx + usageID, Type: "creditRefund"}, store.NotExists())
	if err != nil {
		return err
	}
	month := s.DB.Update(tenant.PK(orgID), monthPfx+u.At.Format("2006-01"), "ADD #n :n", nil, map[string]string{"#n": "n"},
		map[string]types.AttributeValue{":n": store.N(u.Credits)})
	err = s.DB.Transact(ctx, append([]types.TransactWriteItem{claim, s.change(orgID, -u.Credits), put, month}, extra...)...)
	for i := range extra {
		if store.Failed(err, 4+i) {
			return err
		}
	}
	if store.Failed(err, 0) {
		if len(extra) > 0 {
			return ErrRefunded
		}
		return nil // refunded before
	}
	return err
}

// ErrRefunded answers a refund with extra items of a usage refunded before.
var ErrRefunded = errors.New("credits: refunded before")

// topUpScope is the top-ups' idempotency keys.
const topUpScope = "credits-topup"

// TopUpInput adds credits.
type TopUpInput struct {
	Credits int64  `json:"credits"`
	Note    string `json:"note"`
	Reason  string `json:"reason"` // API.md's name for the note (POST /v1/billing/credits/grants)
}

// TopUp adds credits to the org's balance (owners; Stripe purchases come
// later through the same record).
//
// With an idempotency key, a retried top-up adds nothing the second time.
func (s *Service) TopUp(ctx context.Context, a caller.Caller, idemKey string, in TopUpInput) (Balance, error) {
	if err := idempotency.Check(idemKey); err != nil {
		return Balance{}, err
	}
	in.Note = strings.TrimSpace(cmp.Or(in.Note, in.Reason))
	var ck fault.Checker
	ck.Check(in.Credits >= 1 && in.Credits <= MaxTopUp, "credits", "must be a whole number from 1 to 100000")
	check.Text(&ck, "note", in.Note, false, 200)
	if err := ck.Err(); err != nil {
		return Balance{}, err
	}
	now := s.Now().UTC()
	u, put, err := s.usage(a.OrgID, KindTopUp, a.UserID, "", in.Note, in.Credits, now)
	if err != nil {
		return Balance{}, err
	}
	items := []types.TransactWriteItem{s.change(a.OrgID, in.Credits), put}
	fingerprint := idempotency.Fingerprint(in)
	if idemKey != "" {
		w, err := idempotency.Claim(s.DB, a.OrgID, topUpScope, idemKey, fingerprint, u.ID, now)
		if err != nil {
			return Balance{}, err
		}
		items = append(items, w)
	}
	e := activity.Entry{Action: "credits.topped-up", EntityType: "credits", EntityID: u.ID}
	err = activity.Commit(ctx, s.DB, activity.MainLog, a, now, access.TopUpCredits, e, items...)
	if idemKey != "" && store.Failed(err, 2) {
		// Used before: the same top-up is done; another one is refused.
		if _, err := idempotency.Replay(ctx, s.DB, a.OrgID, topUpScope, idemKey, fingerprint); err != nil {
			return Balance{}, err
		}
		return s.Balance(ctx, a.OrgID)
	}
	if err != nil {
		return Balance{}, err
	}
	return s.Balance(ctx, a.OrgID)
}
