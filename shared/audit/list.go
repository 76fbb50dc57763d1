package audit

import (
	"context"
	"time"

	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Filter narrows a listing; zero fields match everything. From and To
// bound the entry's time, both inclusive.
type Filter struct {
	ActorID, Action string
	From, To        time.Time
}

func (f Filter) matches(e Entry) bool {
	if (f.ActorID != "" && e.ActorID != f.ActorID) || (f.Action != "" && e.Action != f.Action) {
		return false
	}
	if f.From.IsZero() && f.To.IsZero() {
		return true
	}
	at, err := time.Parse(time.RFC3339Nano, e.At)
	if err != nil {
		return false
	}
	return (f.From.IsZero() || !at.Before(f.From)) && (f.To.IsZero() || !at.After(f.To))
}

// scanCap bounds the entries one filtered page reads: a rare action in a
// long log answers a short page and a cursor instead of reading it all.
const scanCap = 1000

// List reads one page of orgID's audit log, newest first, keeping the
// entries f matches. next is where the following page starts, nil at the
// end; a filtered page may hold fewer than limit entries and still have one.
func List(ctx context.Context, db *store.DB, orgID string, f Filter, limit int32, start store.StartKey) ([]Entry, store.StartKey, error) {
	pk := tenant.PK(orgID)
	out := []Entry{}
	scanned := 0
	for {
		var rows []entryRow
		next, err := db.QueryPage(ctx, store.Query{PK: pk, SKPrefix: entryPfx, Limit: limit, StartKey: start, Consistent: true}, &rows)
		if err != nil {
			return nil, nil, err
		}
		for i, r := range rows {
			scanned++
			if f.matches(r.Entry) {
				e := r.Entry
				e.Version = max(e.Version, V1) // stored as absent
				out = append(out, e)
			}
			if len(out) == int(limit) || scanned >= scanCap {
				if i == len(rows)-1 && next == nil {
					return out, nil, nil
				}
				return out, store.StartKey{store.AttrPK: store.S(pk), store.AttrSK: store.S(r.SK)}, nil
			}
		}
		if next == nil {
			return out, nil, nil
		}
		start = next
	}
}
