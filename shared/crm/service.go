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
}

// NewService returns a Service with ULID ids.
func NewService(db *store.DB, log *slog.Logger, now func() time.Time) *Service {
	return &Service{DB: db, Log: log, Now: now, NewID: func() string { return ulid.Make().String() }}
}

// Commit writes items, the activity entry describing them and a check that
// the actor still holds perm, in one transaction: the change and its record
// land together or not at all. A failed condition comes back as a
// *store.TxCanceledError whose indexes are those of items; a lost role is
// tenant.ErrRoleChanged.
func Commit(ctx context.Context, db *store.DB, a activity.Actor, now time.Time, perm access.Permission, e activity.Entry, items ...types.TransactWriteItem) error {
	rec, err := activity.Record(db, a, now, e)
	if err != nil {
		return err
	}
	all := append(slices.Clip(items), rec, tenant.MemberWith(db, a.OrgID, a.UserID, perm))
	err = db.Transact(ctx, all...)
	var tce *store.TxCanceledError
	if errors.As(err, &tce) && tce.Failed(len(all)-1) {
		return tenant.ErrRoleChanged
	}
	return err
}

func (s *Service) commit(ctx context.Context, a activity.Actor, perm access.Permission, e activity.Entry, items ...types.TransactWriteItem) error {
	return Commit(ctx, s.DB, a, s.Now(), perm, e, items...)
}

// get reads one item of the org, answering missing (or malformed) ids with
// a not-found error naming what.
func (s *Service) get(ctx context.Context, orgID, sk, id, what string, out any) error {
	if !check.ID(id) {
		return notFound(what)
	}
	err := s.DB.Get(ctx, tenant.PK(orgID), sk, out)
	if errors.Is(err, store.ErrNotFound) {
		return notFound(what)
	}
	return err
}

func notFound(what string) error { return fault.E(fault.NotFound, "No such %s.", what) }

// orgTimezone is the org's IANA time zone, the default for dates and bookings.
func (s *Service) orgTimezone(ctx context.Context, orgID string) (*time.Location, string, error) {
	var org struct {
		Timezone string `dynamodbav:"timezone"`
	}
	if err := s.DB.Get(ctx, tenant.PK(orgID), tenant.OrgSK, &org); err != nil {
		return nil, "", err
	}
	loc, err := time.LoadLocation(org.Timezone)
	if err != nil {
		return time.UTC, "UTC", nil
	}
	return loc, org.Timezone, nil
}

// members reads the org's members among ids in one batch: id → role.
// Ids that are not members are absent from the result.
func (s *Service) members(ctx context.Context, orgID string, ids []string) (map[string]access.Role, error) {
	type member struct {
		Role string `dynamodbav:"role"`
	}
	var valid []string
	for _, id := range ids {
		if check.ID(id) && !slices.Contains(valid, id) {
			valid = append(valid, id)
		}
	}
	rows := make([]member, len(valid))
	reqs := make([]*store.KeyOut, len(valid))
	for i, id := range valid {
		reqs[i] = &store.KeyOut{PK: tenant.PK(orgID), SK: tenant.MemberSK(id), Out: &rows[i]}
	}
	out := map[string]access.Role{}
	if len(reqs) == 0 {
		return out, nil
	}
	if err := s.DB.BatchGet(ctx, reqs...); err != nil {
		return nil, err
	}
	for i, r := range reqs {
		if r.Found {
			out[valid[i]] = access.Role(rows[i].Role)
		}
	}
	return out, nil
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

// deleteAsRead deletes the item at sk of the org as read returns it (its
// updatedAt, the permission the delete needs and its activity entry),
// reading again when the item changed between the read and the delete.
func (s *Service) deleteAsRead(ctx context.Context, a activity.Actor, sk string, read func() (time.Time, access.Permission, activity.Entry, error)) error {
	for range retryEdits {
		updatedAt, perm, e, err := read()
		if err != nil {
			return err
		}
		del := s.DB.Delete(tenant.PK(a.OrgID), sk, store.Unchanged(updatedAt))
		if err = s.commit(ctx, a, perm, e, del); !store.Failed(err, 0) {
			return err
		}
	}
	return errEditRace
}

// retryEdits is how often a read-modify-write is redone when another edit
// landed between its read and its write.
const retryEdits = 3

var errEditRace = fault.E(fault.Conflict, "This record is being edited by someone else; try again.")
