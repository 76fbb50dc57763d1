package trust

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"strings"
	"time"

	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Export bounds: a Lambda response carries at most 6 MB, so an export
// that would be larger asks for a shorter period instead of failing.
const (
	maxExportRows  = 50_000
	maxExportBytes = 5 << 20
)

// beginning is the from of an export that names none: before any entry.
const beginning = "0001-01-01"

var errExportTooBig = fault.Fields(fault.FieldError{Field: "from",
	Message: "the export is too large for one file (over 50,000 entries or 5 MB); choose a shorter period with from and to"})

// Export writes a journal (no client, matter or firm funds in sc) or a
// ledger as CSV for the practice's accountant: an opening balance line at
// from, then every entry dated from..to with its running balance. Amounts
// are decimals in the account's currency. A ledger's entries come from an
// index, which in AWS may trail the last second's postings.
func (s *Service) Export(ctx context.Context, orgID string, acct Account, sc Scope, from, to string) ([]byte, error) {
	// The opening balance is rolled back from the account's balance: if
	// entries were posted between reading it and reading the entries, read
	// both again.
	for range readTries {
		out, err := s.export(ctx, orgID, acct, sc, from, to)
		if err != nil {
			return nil, err
		}
		again, err := s.Account(ctx, orgID, acct.ID)
		if err != nil || again.Version == acct.Version {
			return out, err
		}
		acct = again
	}
	return nil, fault.E(fault.Conflict, "Entries kept being posted to this account during the export; try again.")
}

func (s *Service) export(ctx context.Context, orgID string, acct Account, sc Scope, from, to string) ([]byte, error) {
	pk := tenant.PK(orgID)
	q := store.Query{PK: pk, Consistent: true, SKFrom: entrySK(acct.ID, from, ""), SKTo: entryPfx + acct.ID + "#" + notCleared}
	balance := acct.Balance
	journal := sc.ClientID == "" && sc.MatterID == "" && !sc.FirmFunds
	if !journal {
		q = sc.query(orgID)
		q.SKFrom, q.SKTo = from, notCleared
		var l ledgerRow
		if err := s.DB.Get(ctx, pk, sc.balanceSK(), &l); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		balance = l.Balance
	}
	q.Forward = true
	// Everything from "from" on is read, to roll today's balance back to
	// the opening balance; the rows stop at "to".
	var rows []Entry
	for {
		var page []entryRow
		next, err := s.DB.QueryPage(ctx, q, &page)
		if err != nil {
			return nil, err
		}
		rows = append(rows, toEntries(page)...)
		if len(rows) > maxExportRows {
			return nil, errExportTooBig
		}
		if next == nil {
			break
		}
		q.StartKey = next
	}
	for _, e := range rows {
		balance -= e.Change
	}
	names, err := s.clientNames(ctx, orgID, rows)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"date", "entry_id", "type", "client_id", "client_name", "matter_id", "counterparty", "description",
		"method", "reference", "amount", "change", "balance", "currency", "cleared_on", "reversal_of", "reversed_by", "entered_by", "entered_at"})
	cur := acct.Currency
	opened := from
	if from == beginning {
		opened = ""
	}
	_ = w.Write([]string{opened, "", "opening balance", sc.ClientID, names[sc.ClientID], sc.MatterID, "", "", "", "", "", "", Decimal(balance, cur), cur, "", "", "", "", ""})
	for _, e := range rows {
		if e.Date > to {
			break
		}
		balance += e.Change
		var kind, ref string
		if e.Method != nil {
			kind, ref = e.Method.Kind, e.Method.Reference
		}
		client := e.ClientID
		if e.FirmFunds {
			client = "firm funds"
		}
		_ = w.Write([]string{e.Date, e.ID, e.Type, client, cell(names[e.ClientID]), e.MatterID, cell(e.Counterparty), cell(e.Description),
			kind, cell(ref), Decimal(e.Amount, cur), Decimal(e.Change, cur), Decimal(balance, cur), cur,
			e.ClearedOn, e.ReversalOf, e.ReversedBy, e.EnteredBy, e.EnteredAt.Format(time.RFC3339)})
		if buf.Len() > maxExportBytes {
			return nil, errExportTooBig
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// cell keeps a spreadsheet from running text typed into Matterly as a
// formula (CSV injection): a cell that starts like one gets a leading
// apostrophe.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// clientNames reads the names of the clients of rows, 100 per batch.
func (s *Service) clientNames(ctx context.Context, orgID string, rows []Entry) (map[string]string, error) {
	names := map[string]string{}
	var ids []string
	for _, e := range rows {
		if e.ClientID != "" && names[e.ClientID] == "" {
			names[e.ClientID] = e.ClientID // placeholder until read; a deleted client keeps its id
			ids = append(ids, e.ClientID)
		}
	}
	for len(ids) > 0 {
		n := min(len(ids), 100)
		clients := make([]crm.Client, n)
		reqs := make([]*store.KeyOut, n)
		for i, id := range ids[:n] {
			reqs[i] = &store.KeyOut{PK: tenant.PK(orgID), SK: crm.ClientSK(id), Out: &clients[i]}
		}
		if err := s.DB.BatchGet(ctx, reqs...); err != nil {
			return nil, err
		}
		for i, r := range reqs {
			if r.Found {
				names[ids[i]] = clients[i].Name
			} else {
				names[ids[i]] = ""
			}
		}
		ids = ids[n:]
	}
	return names, nil
}
