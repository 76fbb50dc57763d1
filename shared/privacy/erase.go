package privacy

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Kept is one category of records an erasure kept for the law.
type Kept struct {
	Category string `dynamodbav:"category" json:"category"`
	Reason   string `dynamodbav:"reason" json:"reason"`
	Until    string `dynamodbav:"until" json:"until"` // the last day of the hold, YYYY-MM-DD
	Count    int    `dynamodbav:"count" json:"count"`
}

// Erased is the answer of DELETE /v1/clients/{clientId}?erase=true.
type Erased struct {
	ClientID string         `dynamodbav:"clientId" json:"clientId"`
	Erased   map[string]int `dynamodbav:"erased" json:"erased"` // rows deleted or redacted, by entity type
	Kept     []Kept         `dynamodbav:"kept" json:"kept"`
	At       time.Time      `dynamodbav:"at" json:"erasedAt"`
}

// holdMark is the attribute a held item carries: why it is kept and until
// when, shown wherever the item is (crm shows it on the client).
const holdMark = "privacyHold"

// erasureRow records an erasure from its start, so that one interrupted
// (a crash, a timeout) is resumed by the retry and one that finished
// answers the retry with its first result.
type erasureRow struct {
	store.Keys
	ClientID string    `dynamodbav:"clientId"`
	Status   string    `dynamodbav:"status"` // running, done
	Result   *Erased   `dynamodbav:"result,omitempty"`
	By       string    `dynamodbav:"by"`
	Started  time.Time `dynamodbav:"startedAt"`
}

const erasurePfx = "PRIVACY#ERASURE#"

// errTrustBalance refuses erasing a client whose money is held in trust.
var errTrustBalance = fault.Refused("privacy.trust-balance",
	"This client has money held in trust (a non-zero trust ledger balance); pay it out or transfer it before erasing the client.")

// EraseClient erases a client: their record, contact entries, notes,
// bookings, documents (every S3 object version), summaries, signature
// requests and messages' contents go; what the law obliges the firm to
// keep (invoices, payments, trust records, consent) stays as it is,
// marked held until its end date, and is listed in Kept. The client's
// identity stays with them while anything is held. Refused while the
// client has money in trust. The job is recorded first: a retry resumes
// an interrupted erasure and answers a finished one with its result.
func (s *Service) EraseClient(ctx context.Context, a caller.Caller, clientID string) (Erased, error) {
	if !check.ID(clientID) {
		return Erased{}, fault.E(fault.NotFound, "No such client.")
	}
	if err := tenant.Confirm(ctx, s.DB, a.OrgID, a.UserID, access.ManagePrivacy); err != nil {
		return Erased{}, err
	}
	pk := tenant.PK(a.OrgID)
	var job erasureRow
	switch err := s.DB.Get(ctx, pk, erasurePfx+clientID, &job); {
	case err == nil && job.Status == "done" && job.Result != nil:
		return job.Result.normalized(), nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return Erased{}, err
	}
	sub, err := s.subject(ctx, a.OrgID, clientID)
	if err != nil {
		return Erased{}, err
	}
	if err := s.checkTrustBalance(ctx, a.OrgID, clientID); err != nil {
		return Erased{}, err
	}
	now := s.Now().UTC()
	if job.Status == "" {
		job = erasureRow{Keys: store.Keys{PK: pk, SK: erasurePfx + clientID, Type: "privacyErasure"}, ClientID: clientID, Status: "running", By: a.UserID, Started: now}
		if err := s.DB.PutItem(ctx, job, store.NotExists()); err != nil && !errors.Is(err, store.ErrConditionFailed) {
			return Erased{}, err
		}
	}
	// The zips that hold the client's data go first: their exports and
	// the workspace's (the client is in those too).
	if _, err := s.expireWhere(ctx, a.OrgID, now, func(r exportRow) bool {
		return r.Scope == ScopeWorkspace || r.ClientID == clientID
	}); err != nil {
		return Erased{}, err
	}
	today := now.Format("2006-01-02")
	res := Erased{ClientID: clientID, Erased: map[string]int{}, At: now}
	kept := map[string]*Kept{}
	var client, names Type
	for _, t := range Types() {
		switch {
		case t.OrgOnly:
			continue
		case t.Name == "clients":
			client = t
			continue
		case t.Name == "client-search-entries":
			names = t
			continue
		}
		if err := s.eraseType(ctx, a, t, sub, today, &res, kept); err != nil {
			return Erased{}, err
		}
	}
	// The client's own record: gone with its search entries, or, while
	// anything of theirs is held, kept (identity included, as the holds
	// require) and marked held until the last hold ends.
	var items []types.TransactWriteItem
	if len(kept) == 0 {
		if err := s.eraseType(ctx, a, names, sub, today, &res, kept); err != nil {
			return Erased{}, err
		}
		items = append(items, s.DB.Delete(pk, "CLIENT#"+clientID, nil))
		res.Erased[client.Name] = 1
	} else {
		last := ""
		var cats []string
		for _, k := range kept {
			res.Kept = append(res.Kept, *k)
			cats = append(cats, k.Category)
			if k.Until > last {
				last = k.Until
			}
		}
		sort.Slice(res.Kept, func(i, j int) bool { return res.Kept[i].Category < res.Kept[j].Category })
		sort.Strings(cats)
		mark, err := store.Marshal(HoldMark{Category: "client identity", Reason: "Kept only to identify the client in records the law obliges the firm to keep: " + strings.Join(cats, ", ") + ".", Until: last})
		if err != nil {
			return Erased{}, err
		}
		items = append(items, s.DB.Update(pk, "CLIENT#"+clientID, "SET #h = :h, #e = :e, #p = :e, #a = :e, #tags = :null, updatedAt = :u",
			store.Exists(), map[string]string{"#h": holdMark, "#e": "email", "#p": "phone", "#a": "address", "#tags": "tags"},
			map[string]types.AttributeValue{":h": &types.AttributeValueMemberM{Value: mark}, ":e": &types.AttributeValueMemberNULL{Value: true},
				":null": &types.AttributeValueMemberNULL{Value: true}, ":u": store.S(now.Format(time.RFC3339Nano))}))
		res.Kept = append([]Kept{{Category: "client identity", Reason: "The client's name stays with the held records, which must identify them.", Until: last, Count: 1}}, res.Kept...)
	}
	done := erasureRow{Keys: job.Keys, ClientID: clientID, Status: "done", Result: &res, By: job.By, Started: job.Started}
	if done.Keys.PK == "" {
		done.Keys = store.Keys{PK: pk, SK: erasurePfx + clientID, Type: "privacyErasure"}
	}
	put, err := s.DB.Put(done, nil)
	if err != nil {
		return Erased{}, err
	}
	items = append(items, put)
	e := activity.Entry{Action: "client.erased", EntityType: "client", EntityID: clientID, ClientID: clientID, Detail: erasedDetail(res)}
	if err := activity.Commit(ctx, s.DB, activity.MainLog, a, now, access.ManagePrivacy, e, items...); err != nil {
		return Erased{}, err
	}
	// The exports built meanwhile may hold what just went: none of them
	// becomes (or stays) a download.
	if err := s.voidExports(ctx, a.OrgID, now, func(r exportRow) bool {
		return r.Scope == ScopeWorkspace || r.ClientID == clientID
	}); err != nil {
		return Erased{}, err
	}
	return res.normalized(), nil
}

// normalized shows an empty list as [] (the API's kept is never null; the
// table stores no empty list).
func (e Erased) normalized() Erased {
	if e.Kept == nil {
		e.Kept = []Kept{}
	}
	if e.Erased == nil {
		e.Erased = map[string]int{}
	}
	return e
}

// HoldMark is the mark of a held item.
type HoldMark struct {
	Category string `dynamodbav:"category" json:"category"`
	Reason   string `dynamodbav:"reason" json:"reason"`
	Until    string `dynamodbav:"until" json:"until"`
}

// eraseType applies t's erasure to the rows of t about sub.
// Deletions are done by a, the member who erased the client.
func (s *Service) eraseType(ctx context.Context, a caller.Caller, t Type, sub Subject, today string, res *Erased, kept map[string]*Kept) error {
	orgID := a.OrgID
	return s.rows(ctx, orgID, t, func(item map[string]types.AttributeValue, r Row) error {
		if !t.concerns(r, sub) {
			return nil
		}
		pk, sk := keyOf(item)
		// Holds read what the export leaves out (a matter's trust count).
		full, err := Type{Name: t.Name}.decode(item)
		if err != nil {
			return err
		}
		if t.Hold.applies(full) {
			until := t.Hold.until(r, sub, today)
			k := kept[t.Hold.Category]
			if k == nil {
				k = &Kept{Category: t.Hold.Category, Reason: t.Hold.Reason}
				kept[t.Hold.Category] = k
			}
			k.Count++
			if until > k.Until {
				k.Until = until
			}
			mark, err := store.Marshal(HoldMark{Category: t.Hold.Category, Reason: t.Hold.Reason, Until: until})
			if err != nil {
				return err
			}
			return s.DB.UpdateItem(ctx, s.DB.Update(pk, sk, "SET #h = :h", store.Exists(), map[string]string{"#h": holdMark},
				map[string]types.AttributeValue{":h": &types.AttributeValueMemberM{Value: mark}}), nil)
		}
		switch t.Erase {
		case Keep:
			return nil
		case Redact:
			if r.Str("erased") != "" {
				return nil // redacted by an earlier attempt
			}
			expr, names := "SET erased = :t", map[string]string{}
			for i, a := range t.Redact {
				n := "#r" + string(rune('a'+i))
				names[n] = a
				expr += ", " + n + " = :blank"
			}
			res.Erased[t.Name]++
			return s.DB.UpdateItem(ctx, s.DB.Update(pk, sk, expr, store.Exists(), names,
				map[string]types.AttributeValue{":t": store.S(today), ":blank": store.S("")}), nil)
		}
		res.Erased[t.Name]++
		return s.deleteRow(ctx, a, whyErasure, t, item, r)
	})
}

func keyOf(item map[string]types.AttributeValue) (pk, sk string) {
	if v, ok := item[store.AttrPK].(*types.AttributeValueMemberS); ok {
		pk = v.Value
	}
	if v, ok := item[store.AttrSK].(*types.AttributeValueMemberS); ok {
		sk = v.Value
	}
	return pk, sk
}

// checkTrustBalance refuses a client whose trust ledgers hold money.
func (s *Service) checkTrustBalance(ctx context.Context, orgID, clientID string) error {
	return s.scan(ctx, orgID, "TRUST#L#", func(item map[string]types.AttributeValue) error {
		c, _ := item["clientId"].(*types.AttributeValueMemberS)
		b, _ := item["balance"].(*types.AttributeValueMemberN)
		if c != nil && c.Value == clientID && b != nil && b.Value != "0" {
			return errTrustBalance
		}
		return nil
	})
}

// erasedDetail is the activity entry's detail: counts only, never content.
func erasedDetail(e Erased) string {
	var parts []string
	for name, n := range e.Erased {
		parts = append(parts, name+" "+strconv.Itoa(n))
	}
	sort.Strings(parts)
	var held []string
	for _, k := range e.Kept {
		held = append(held, k.Category+" until "+k.Until)
	}
	d := "erased: " + strings.Join(parts, ", ")
	if len(held) > 0 {
		d += "; kept: " + strings.Join(held, ", ")
	}
	if len(d) > 1000 {
		d = d[:1000]
	}
	return d
}
