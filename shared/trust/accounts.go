package trust

import (
	"context"
	"errors"
	"strings"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// AccountInput is a new trust bank account.
type AccountInput struct {
	Name         string `json:"name"`
	BankName     string `json:"bankName"`
	AccountLast4 string `json:"accountLast4"`
	Currency     string `json:"currency"`
}

// CreateAccount records a trust bank account. Only the last four digits of
// its number are kept: the full number is never needed to keep the books.
func (s *Service) CreateAccount(ctx context.Context, a caller.Caller, in AccountInput) (Account, error) {
	in.Name, in.BankName = strings.TrimSpace(in.Name), strings.TrimSpace(in.BankName)
	var ck fault.Checker
	check.Text(&ck, "name", in.Name, true, 100)
	check.Text(&ck, "bankName", in.BankName, true, 100)
	ck.Check(check.Bytes(in.AccountLast4, 4, 4, check.Digit), "accountLast4", "must be the last 4 digits of the account number")
	code, ok := currencyCode(in.Currency)
	ck.Check(ok, "currency", "must be an ISO 4217 currency code, e.g. usd")
	if err := ck.Err(); err != nil {
		return Account{}, err
	}
	now := s.Now().UTC()
	acct := Account{ID: s.NewID(), Name: in.Name, BankName: in.BankName, AccountLast4: in.AccountLast4, Currency: code,
		CreatedBy: a.UserID, CreatedAt: now}
	var t txn
	w, err := s.DB.Put(toAccountRow(a.OrgID, acct), store.NotExists())
	t.addErr(w, err)
	ae := activity.Entry{Action: "trust.account.created", EntityType: "trustAccount", EntityID: acct.ID, Detail: acct.Name}
	if err := s.commit(ctx, a, access.WriteTrust, ae, &t); err != nil {
		return Account{}, err
	}
	return acct, nil
}

// Account reads one trust account.
func (s *Service) Account(ctx context.Context, orgID, id string) (Account, error) {
	if !check.ID(id) {
		return Account{}, errNoAccount
	}
	var r accountRow
	err := s.DB.Get(ctx, tenant.PK(orgID), accountSK(id), &r)
	if errors.Is(err, store.ErrNotFound) {
		return Account{}, errNoAccount
	}
	return r.toAccount(), err
}

var errNoAccount = fault.E(fault.NotFound, "No such trust account.")

// ListAccounts pages through the org's trust accounts, oldest first.
func (s *Service) ListAccounts(ctx context.Context, orgID string, limit int32, start store.StartKey) ([]Account, store.StartKey, error) {
	var rows []accountRow
	next, err := s.DB.QueryPage(ctx, store.Query{PK: tenant.PK(orgID), SKPrefix: accountPfx, Forward: true, Limit: limit, StartKey: start, Consistent: true}, &rows)
	out := make([]Account, len(rows))
	for i, r := range rows {
		out[i] = r.toAccount()
	}
	return out, next, err
}

// onlyAccount is the org's trust account when it has exactly one, which is
// what a request that names none means; otherwise the caller must say.
func (s *Service) onlyAccount(ctx context.Context, orgID string) (Account, error) {
	accts, _, err := s.ListAccounts(ctx, orgID, 2, nil)
	if err != nil {
		return Account{}, err
	}
	switch len(accts) {
	case 0:
		return Account{}, fault.Fields(fault.FieldError{Field: "accountId", Message: "the org has no trust account yet; create one first"})
	case 2:
		return Account{}, fault.Fields(fault.FieldError{Field: "accountId", Message: "is required: the org has more than one trust account"})
	}
	return accts[0], nil
}
