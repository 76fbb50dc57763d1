package trust

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/store"
)

// Prepared is a deposit made ready to commit inside another capability's
// transaction (a card payment into trust is recorded with its payment
// record, in one transaction, or not at all).
type Prepared struct {
	Items []types.TransactWriteItem // the entry, its balances and its trust-log record
	Entry Entry
	why   []func() error
}

// Refusal explains a canceled transaction whose first len(p.Items) items
// are p's; nil when none of them failed.
func (p *Prepared) Refusal(err error) error {
	var tce *store.TxCanceledError
	if !errors.As(err, &tce) {
		return nil
	}
	for i, why := range p.why {
		if why != nil && tce.Failed(i) {
			return why()
		}
	}
	return nil
}

// PrepareDeposit lays out a deposit of in (type deposit) by a system actor
// such as Stripe's webhook, with the same checks and balance conditions as
// Post, and its trust-log record; the caller adds its own items and runs
// the transaction.
func (s *Service) PrepareDeposit(ctx context.Context, a caller.Caller, in EntryInput) (*Prepared, error) {
	in.Type = Deposit
	if err := in.normalize(s.Now()); err != nil {
		return nil, err
	}
	p, err := s.plan(ctx, a, in, "")
	if err != nil {
		return nil, err
	}
	var t txn
	if err := s.addLegs(ctx, &t, a.OrgID, *p.account, p.legs, p.moves); err != nil {
		return nil, err
	}
	rec, err := activity.RecordIn(s.DB, activity.TrustLog, a, p.now, activity.Entry{Action: "trust.entry.posted", EntityType: "trustEntry",
		EntityID: p.legs[0].ID, ClientID: in.ClientID, MatterID: in.MatterID, Detail: "deposit " + Money(in.Amount, p.account.Currency)})
	t.addErr(rec, err)
	if t.err != nil {
		return nil, t.err
	}
	return &Prepared{Items: t.items, Entry: p.legs[0], why: t.why}, nil
}
