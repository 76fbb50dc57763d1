package crm

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Service implements the CRM use cases.
type Service struct {
	DB    *store.DB
	Log   *slog.Logger
	Now   func() time.Time
	NewID func() string
	// Erase, when set, serves DELETE /v1/clients/{clientId}?erase=true: the
	// privacy capability's erasure (shared/privacy), given here by the
	// wiring so that crm does not depend on it.
	Erase func(ctx context.Context, a caller.Caller, clientID string) (any, error)
}

// NewService returns a Service with ULID ids.
func NewService(db *store.DB, log *slog.Logger, now func() time.Time) *Service {
	return &Service{DB: db, Log: log, Now: now, NewID: func() string { return ulid.Make().String() }}
}

// Commit writes items with their main-log activity entry and the check
// that the actor still holds perm, in one transaction (activity.Commit).
func Commit(ctx context.Context, db *store.DB, a caller.Caller, now time.Time, perm access.Permission, e activity.Entry, items ...types.TransactWriteItem) error {
	return activity.Commit(ctx, db, activity.MainLog, a, now, perm, e, items...)
}

func (s *Service) commit(ctx context.Context, a caller.Caller, perm access.Permission, e activity.Entry, items ...types.TransactWriteItem) error {
	return Commit(ctx, s.DB, a, s.Now(), perm, e, items...)
}

// get reads one item of the org, answering missing (or malformed) ids with
// a not-found error naming what.
func (s *Service) get(ctx context.Context, orgID, sk, id, what string, out any) error {
	return load(ctx, s.DB, orgID, sk, id, what, out)
}

// load reads item id (a what) of the org at sk: not found when missing or
// when id is malformed.
func load(ctx context.Context, db *store.DB, orgID, sk, id, what string, out any) error {
	if !check.ID(id) {
		return notFound(what)
	}
	err := db.Get(ctx, tenant.PK(orgID), sk, out)
	if errors.Is(err, store.ErrNotFound) {
		return notFound(what)
	}
	return err
}

func notFound(what string) error { return fault.E(fault.NotFound, "No such %s.", what) }

// want names what a write reads before it validates; found is what it got.
type want struct {
	org      bool     // the org's time zone
	clientID string   // a client, when an id
	matterID string   // a matter, when an id
	members  []string // member ids
}

type found struct {
	loc    *time.Location // the org's time zone (UTC when not asked for or unset)
	tz     string
	client *Client // nil when not found
	matter *Matter
	roles  map[string]access.Role // member id → role, for those that are members
}

// maxLookupMembers bounds the member ids read: more than any list may hold
// (its own check refuses the request), and with the org, client and matter
// within one BatchGetItem's 100 keys.
const maxLookupMembers = 50

// lookup reads everything w names in one batch. Ids that cannot be ours
// are not read; they are simply not found.
func (s *Service) lookup(ctx context.Context, orgID string, w want) (found, error) {
	var org tenant.OrgZone
	f := found{loc: time.UTC, tz: "UTC", roles: map[string]access.Role{}}
	var client Client
	var matter Matter
	var reqs []*store.KeyOut
	add := func(sk string, out any) *store.KeyOut {
		r := &store.KeyOut{PK: tenant.PK(orgID), SK: sk, Out: out}
		reqs = append(reqs, r)
		return r
	}
	var orgReq, clientReq, matterReq *store.KeyOut
	if w.org {
		orgReq = tenant.ZoneKey(orgID, &org)
		reqs = append(reqs, orgReq)
	}
	if check.ID(w.clientID) {
		clientReq = add(ClientSK(w.clientID), &client)
	}
	if check.ID(w.matterID) {
		matterReq = add(MatterSK(w.matterID), &matter)
	}
	var ids []string
	for _, id := range w.members {
		if check.ID(id) && !slices.Contains(ids, id) && len(ids) < maxLookupMembers {
			ids = append(ids, id)
		}
	}
	rows := make([]struct {
		Role string `dynamodbav:"role"`
	}, len(ids))
	memberReqs := make([]*store.KeyOut, len(ids))
	for i, id := range ids {
		memberReqs[i] = add(tenant.MemberSK(id), &rows[i])
	}
	if len(reqs) == 0 {
		return f, nil
	}
	if err := s.DB.BatchGet(ctx, reqs...); err != nil {
		return found{}, err
	}
	if orgReq != nil && orgReq.Found {
		f.loc = org.Loc()
		f.tz = f.loc.String()
	}
	if clientReq != nil && clientReq.Found {
		f.client = &client
	}
	if matterReq != nil && matterReq.Found {
		f.matter = &matter
	}
	for i, r := range memberReqs {
		if r.Found {
			f.roles[ids[i]] = access.Role(rows[i].Role)
		}
	}
	return f, nil
}

// changed lists the API fields that differ between two versions of a
// record, for the activity log (names only, never values).
func changed(before, after any) []string {
	var a, b map[string]any
	ja, _ := json.Marshal(before)
	jb, _ := json.Marshal(after)
	_ = json.Unmarshal(ja, &a)
	_ = json.Unmarshal(jb, &b)
	var out []string
	for k, v := range b {
		if k != "updatedAt" && !reflect.DeepEqual(a[k], v) {
			out = append(out, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// edit is one read-modify-write round's change: items[0] is the item as
// read and changed, written on the condition that it is unchanged since
// the read; the rest go with it.
type edit struct {
	perm  access.Permission
	entry activity.Entry
	items []types.TransactWriteItem
	// refused, when set, names the error of a failed condition of one of
	// the other items (nil: the error as is).
	refused func(err error) error
}

// updateAsRead runs read-modify-write rounds: round reads the item, changes
// it and returns the edit to commit with its activity entry (ok false:
// nothing changed, nothing to write). When the item changed between a
// round's read and its commit, it reads again, retryEdits times at most.
func (s *Service) updateAsRead(ctx context.Context, a caller.Caller, round func() (e edit, ok bool, err error)) error {
	for range retryEdits {
		e, ok, err := round()
		if err != nil || !ok {
			return err
		}
		err = s.commit(ctx, a, e.perm, e.entry, e.items...)
		if store.Failed(err, 0) {
			continue // edited or deleted meanwhile: read again
		}
		if err != nil && e.refused != nil {
			if refused := e.refused(err); refused != nil {
				return refused
			}
		}
		return err
	}
	return errEditRace
}

// deleteAsRead deletes the item at sk of the org as read returns it (its
// updatedAt, the permission the delete needs and its activity entry),
// reading again when the item changed between the read and the delete.
func (s *Service) deleteAsRead(ctx context.Context, a caller.Caller, sk string, read func() (time.Time, access.Permission, activity.Entry, error)) error {
	return s.updateAsRead(ctx, a, func() (edit, bool, error) {
		updatedAt, perm, e, err := read()
		if err != nil {
			return edit{}, false, err
		}
		del := s.DB.Delete(tenant.PK(a.OrgID), sk, store.Unchanged(updatedAt))
		return edit{perm: perm, entry: e, items: []types.TransactWriteItem{del}}, true, nil
	})
}

// retryEdits is how often a read-modify-write is redone when another edit
// landed between its read and its write.
const retryEdits = 3

var errEditRace = fault.E(fault.Conflict, "This record is being edited by someone else; try again.")
