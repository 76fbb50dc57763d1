package trust

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/cursor"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/idempotency"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
)

// NewRouter serves the trust function: accounts, entries, ledgers,
// reconciliation and the trust audit trail.
func NewRouter(svc *Service, rc httpapi.RouterConfig) (*httpapi.Router, error) {
	h := handlers{svc: svc, cursors: rc.Cursors}
	rt := httpapi.NewRouter(routes.FnTrust, rc.Options)
	rt.Handle("POST /v1/trust/accounts", h.createAccount)
	rt.Handle("GET /v1/trust/accounts", h.listAccounts)
	rt.Handle("GET /v1/trust/accounts/{accountId}", h.getAccount)
	rt.Handle("POST /v1/trust/entries", h.postEntry)
	rt.Handle("GET /v1/trust/entries", h.journal)
	rt.Handle("GET /v1/trust/entries/{entryId}", h.getEntry)
	rt.Handle("POST /v1/trust/entries/{entryId}/reverse", h.reverse)
	rt.Handle("POST /v1/trust/entries/{entryId}/clear", h.clear)
	rt.Handle("GET /v1/trust/ledgers", h.ledgers)
	rt.Handle("GET /v1/trust/reconciliation", h.preview)
	rt.Handle("POST /v1/trust/reconciliations", h.signOff)
	rt.Handle("GET /v1/trust/reconciliations", h.listReconciliations)
	rt.Handle("GET /v1/trust/export", h.export)
	rt.Handle("GET /v1/trust/activity", h.activity)
	return rt, rt.Check()
}

type handlers struct {
	svc     *Service
	cursors *cursor.Sealer
}

// write checks the caller keeps the trust books, decodes the body and
// answers status with what do returns.
func write[In any](r *httpapi.Request, status int, do func(caller.Caller, In) (any, error)) (*httpapi.Response, error) {
	return httpapi.DecodeAnd(r, access.WriteTrust, func(in In) (any, error) { return do(r.Principal, in) }, status)
}

func (h handlers) createAccount(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return write(r, http.StatusCreated, func(a caller.Caller, in AccountInput) (any, error) { return h.svc.CreateAccount(ctx, a, in) })
}

func (h handlers) listAccounts(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	if err := r.Require(access.ReadTrust); err != nil {
		return nil, err
	}
	return httpapi.ListPage(r, h.cursors, "trust-accounts", func(limit int32, start store.StartKey) ([]Account, store.StartKey, error) {
		return h.svc.ListAccounts(ctx, r.Principal.OrgID, limit, start)
	})
}

func (h handlers) getAccount(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	if err := r.Require(access.ReadTrust); err != nil {
		return nil, err
	}
	acct, err := h.svc.Account(ctx, r.Principal.OrgID, r.Param("accountId"))
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, acct), nil
}

// postEntry records an entry. An Idempotency-Key header makes a retry
// safe: the same request again answers the entry already recorded, marked
// with Idempotent-Replayed.
func (h handlers) postEntry(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	replayed := false
	resp, err := write(r, http.StatusCreated, func(a caller.Caller, in EntryInput) (any, error) {
		e, again, err := h.svc.Post(ctx, a, r.Header(idempotency.Header), in)
		replayed = again
		return e, err
	})
	if err == nil && replayed {
		resp.Headers = map[string]string{idempotency.ReplayedHeader: "true"}
	}
	return resp, err
}

func (h handlers) getEntry(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	if err := r.Require(access.ReadTrust); err != nil {
		return nil, err
	}
	e, err := h.svc.Entry(ctx, r.Principal.OrgID, r.Param("entryId"))
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, e), nil
}

func (h handlers) reverse(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return write(r, http.StatusCreated, func(a caller.Caller, in ReverseInput) (any, error) {
		return h.svc.Reverse(ctx, a, r.Param("entryId"), in)
	})
}

func (h handlers) clear(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return write(r, http.StatusOK, func(a caller.Caller, in ClearInput) (any, error) {
		return h.svc.Clear(ctx, a, r.Param("entryId"), in)
	})
}

// account is the account a read names with ?accountId=, or the org's only
// one when it names none.
func (h handlers) account(ctx context.Context, r *httpapi.Request, required bool) (Account, error) {
	id := r.Query("accountId")
	if id == "" && !required {
		return h.svc.onlyAccount(ctx, r.Principal.OrgID)
	}
	if !check.ID(id) {
		return Account{}, fault.Fields(fault.FieldError{Field: "accountId", Message: "is required: the id of a trust account"})
	}
	return h.svc.Account(ctx, r.Principal.OrgID, id)
}

func (h handlers) journal(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	if err := r.Require(access.ReadTrust); err != nil {
		return nil, err
	}
	acct, err := h.account(ctx, r, true)
	if err != nil {
		return nil, err
	}
	return httpapi.ListPage(r, h.cursors, "trust-journal?"+acct.ID, func(limit int32, start store.StartKey) ([]Line, store.StartKey, error) {
		return h.svc.Journal(ctx, r.Principal.OrgID, acct.ID, limit, start)
	})
}

// scope reads which ledger a request names (?clientId=, ?matterId=,
// ?firmFunds=true) and checks the caller may read it: the trust roles read
// every ledger, an attorney only those of the matters they are on.
func (h handlers) scope(ctx context.Context, r *httpapi.Request) (Scope, bool, error) {
	var ck fault.Checker
	sc := Scope{ClientID: r.Query("clientId"), MatterID: r.Query("matterId"), FirmFunds: r.Query("firmFunds") == "true"}
	ck.Check(sc.ClientID == "" || check.ID(sc.ClientID), "clientId", "must be an id")
	ck.Check(sc.MatterID == "" || check.ID(sc.MatterID), "matterId", "must be an id")
	ck.Check(r.Query("firmFunds") == "" || r.Query("firmFunds") == "true" || r.Query("firmFunds") == "false", "firmFunds", "must be true or false")
	ck.Check(!sc.FirmFunds || (sc.ClientID == "" && sc.MatterID == ""), "firmFunds", "names the firm's own ledger; leave clientId and matterId out")
	if err := ck.Err(); err != nil {
		return Scope{}, false, err
	}
	if sc.MatterID == "" {
		err := r.Require(access.ReadTrust)
		return sc, sc.ClientID != "" || sc.FirmFunds, err
	}
	if err := r.Require(access.ReadMatterLedger); err != nil {
		return Scope{}, false, err
	}
	m, err := crm.LoadMatter(ctx, h.svc.DB, r.Principal.OrgID, sc.MatterID)
	if err != nil {
		return Scope{}, false, err
	}
	if !access.Can(r.Principal.Role, access.ReadTrust) && !m.OnMatter(r.Principal.UserID) {
		return Scope{}, false, fault.E(fault.Forbidden, "Your role (%s) may read the trust ledgers only of the matters you are on.", r.Principal.Role)
	}
	if sc.ClientID != "" && sc.ClientID != m.ClientID {
		return Scope{}, false, fault.Fields(fault.FieldError{Field: "matterId", Message: "is a matter of another client"})
	}
	sc.ClientID = m.ClientID
	return sc, true, nil
}

// ledgers answers the stored balances of every ledger, or with a client,
// matter or firmFunds, one ledger with its entries.
func (h handlers) ledgers(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	sc, one, err := h.scope(ctx, r)
	if err != nil {
		return nil, err
	}
	if !one {
		id := r.Query("accountId")
		if id != "" && !check.ID(id) {
			return nil, fault.Fields(fault.FieldError{Field: "accountId", Message: "must be an id"})
		}
		return httpapi.ListPage(r, h.cursors, "trust-ledgers?"+id, func(limit int32, start store.StartKey) ([]Ledger, store.StartKey, error) {
			return h.svc.Balances(ctx, r.Principal.OrgID, id, limit, start)
		})
	}
	acct, err := h.account(ctx, r, false)
	if err != nil {
		return nil, err
	}
	sc.AccountID = acct.ID
	list := "trust-ledger?" + url.Values{"a": {acct.ID}, "c": {sc.ClientID}, "m": {sc.MatterID}, "f": {strconv.FormatBool(sc.FirmFunds)}}.Encode()
	limit, start, err := httpapi.PageParams(r, h.cursors, list)
	if err != nil {
		return nil, err
	}
	view, next, err := h.svc.Ledger(ctx, r.Principal.OrgID, acct, sc, limit, start)
	if err != nil {
		return nil, err
	}
	if view.NextCursor, err = httpapi.SealCursor(r, h.cursors, list, next); err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, view), nil
}

func (h handlers) preview(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	if err := r.Require(access.ReadTrust); err != nil {
		return nil, err
	}
	var ck fault.Checker
	ck.Check(check.ID(r.Query("accountId")), "accountId", "is required: the id of a trust account")
	ck.Check(check.Date(r.Query("asOf")), "asOf", "is required: the statement date, YYYY-MM-DD")
	bank, err := strconv.ParseInt(r.Query("bankBalance"), 10, 64)
	ck.Check(err == nil && bank >= -MaxBankBalance && bank <= MaxBankBalance, "bankBalance", "is required: the statement's closing balance, a whole number of minor units")
	if err := ck.Err(); err != nil {
		return nil, err
	}
	rec, err := h.svc.Preview(ctx, r.Principal.OrgID, r.Query("accountId"), r.Query("asOf"), bank)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, rec), nil
}

func (h handlers) signOff(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return write(r, http.StatusCreated, func(a caller.Caller, in SignOffInput) (any, error) { return h.svc.SignOff(ctx, a, in) })
}

func (h handlers) listReconciliations(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	if err := r.Require(access.ReadTrust); err != nil {
		return nil, err
	}
	acct, err := h.account(ctx, r, false)
	if err != nil {
		return nil, err
	}
	asOf := r.Query("asOf")
	if asOf != "" && !check.Date(asOf) {
		return nil, fault.Fields(fault.FieldError{Field: "asOf", Message: "must be a date, YYYY-MM-DD"})
	}
	return httpapi.ListPage(r, h.cursors, "trust-reconciliations?"+acct.ID+"&"+asOf, func(limit int32, start store.StartKey) ([]Reconciliation, store.StartKey, error) {
		return h.svc.Reconciliations(ctx, r.Principal.OrgID, acct.ID, asOf, limit, start)
	})
}

// export answers a journal or a ledger as a CSV file for the accountant.
func (h handlers) export(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	sc, _, err := h.scope(ctx, r)
	if err != nil {
		return nil, err
	}
	if sc.MatterID == "" {
		// The account journal, like a client ledger, is for the trust roles.
		if err := r.Require(access.ReadTrust); err != nil {
			return nil, err
		}
	}
	var ck fault.Checker
	from, to := r.Query("from"), r.Query("to")
	ck.Check(from == "" || check.Date(from), "from", "must be a date, YYYY-MM-DD")
	ck.Check(to == "" || check.Date(to), "to", "must be a date, YYYY-MM-DD")
	if err := ck.Err(); err != nil {
		return nil, err
	}
	if from == "" {
		from = beginning
	}
	if to == "" {
		to = "9999-12-31"
	}
	if to < from {
		return nil, fault.Fields(fault.FieldError{Field: "to", Message: "must be on or after from"})
	}
	acct, err := h.account(ctx, r, false)
	if err != nil {
		return nil, err
	}
	sc.AccountID = acct.ID
	body, err := h.svc.Export(ctx, r.Principal.OrgID, acct, sc, from, to)
	if err != nil {
		return nil, err
	}
	resp := httpapi.Text(http.StatusOK, "text/csv; charset=utf-8", string(body))
	resp.Headers["Content-Disposition"] = `attachment; filename="trust-` + acct.ID + `.csv"`
	return resp, nil
}

func (h handlers) activity(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	if err := r.Require(access.ReadTrust); err != nil {
		return nil, err
	}
	return httpapi.ListPage(r, h.cursors, "trust-activity", func(limit int32, start store.StartKey) ([]activity.Entry, store.StartKey, error) {
		return activity.ListIn(ctx, h.svc.DB, activity.TrustLog, r.Principal.OrgID, limit, start)
	})
}
