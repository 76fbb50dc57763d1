package trust

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/activity"
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
func (s *Service) PrepareDeposit(ctx context.Context, a activity.Actor, in EntryInput) (*Prepared, error) {
	in.Type = Deposit
	if err := in.normalize(); err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	legs := in.legs(a.OrgID, Account{ID: in.AccountID}, s.NewID, a.UserID, now)
	moves, ledgerReads := s.movesOf(a.OrgID, in.AccountID, legs)
	r, err := s.load(ctx, a.OrgID, in.AccountID, []string{in.ClientID}, []string{in.MatterID}, "", ledgerReads...)
	if err != nil {
		return nil, err
	}
	if err := in.checkRefs(r, now); err != nil {
		return nil, err
	}
	for i := range legs {
		legs[i].Currency = r.account.Currency
	}
	var t txn
	if err := s.addLegs(ctx, &t, a.OrgID, *r.account, legs, moves); err != nil {
		return nil, err
	}
	rec, err := activity.RecordIn(s.DB, activity.TrustLog, a, now, activity.Entry{Action: "trust.entry.posted", EntityType: "trustEntry",
		EntityID: legs[0].ID, ClientID: in.ClientID, MatterID: in.MatterID, Detail: "deposit " + Money(in.Amount, r.account.Currency)})
	t.addErr(rec, err)
	if t.err != nil {
		return nil, t.err
	}
	return &Prepared{Items: t.items, Entry: legs[0], why: t.why}, nil
}
