// Package activity is the activity log of clients and matters: who did what,
// when, from which address and browser. An entry is written in the same
// DynamoDB transaction as the change it describes, so a change can never
// happen without its record. Entries name the fields that changed, never
// their contents (no note bodies, no document text).
package activity

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Entry is one record of the log.
type Entry struct {
	ID         string    `dynamodbav:"id" json:"id"`
	At         time.Time `dynamodbav:"at" json:"at"`
	ActorID    string    `dynamodbav:"actorId" json:"actorId"`
	ActorRole  string    `dynamodbav:"actorRole" json:"actorRole"`
	Action     string    `dynamodbav:"action" json:"action"` // "client.created", "document.downloaded", ...
	EntityType string    `dynamodbav:"entityType" json:"entityType"`
	EntityID   string    `dynamodbav:"entityId" json:"entityId"`
	ClientID   string    `dynamodbav:"clientId,omitempty" json:"clientId,omitempty"`
	MatterID   string    `dynamodbav:"matterId,omitempty" json:"matterId,omitempty"`
	Fields     []string  `dynamodbav:"fields,omitempty" json:"fields,omitempty"` // what an update changed
	Detail     string    `dynamodbav:"detail,omitempty" json:"detail,omitempty"` // e.g. "open → closed", "version 2"
	IP         string    `dynamodbav:"ip" json:"ip"`
	UserAgent  string    `dynamodbav:"userAgent" json:"userAgent"`
	// Event, when set, is the domain event this change announces
	// ("matter.closed"): the relay publishes it from the table's stream, so
	// an event is published if and only if its change committed.
	Event string `dynamodbav:"event,omitempty" json:"-"`
}

type row struct {
	store.Keys
	Entry
}

// Log is one of an org's logs. The main log is the activity of clients and
// matters, readable by the case team; the trust log is the audit trail of
// client funds, readable only by the roles that keep the trust books (staff
// see nothing of trust, not even that an entry was made).
type Log string

// The logs, as the sort key prefix of their entries.
const (
	MainLog  Log = "ACT#"
	TrustLog Log = "TRUSTACT#"
)

// The log is read three ways: the whole org (table), per client (GSI1,
// including the client's matters) and per matter (GSI2), all newest first
// because entry ids are ULIDs.
func clientPK(orgID, clientID string) string {
	return tenant.PK(orgID) + "#CLIENT#" + clientID + "#ACT"
}
func matterPK(orgID, matterID string) string {
	return tenant.PK(orgID) + "#MATTER#" + matterID + "#ACT"
}

// Record returns the transaction item that logs e in the main log as done
// by a at now.
func Record(db *store.DB, a caller.Caller, now time.Time, e Entry) (types.TransactWriteItem, error) {
	return RecordIn(db, MainLog, a, now, e)
}

// RecordIn is Record for any log. Only main log entries appear in the
// per-client and per-matter feeds.
func RecordIn(db *store.DB, log Log, a caller.Caller, now time.Time, e Entry) (types.TransactWriteItem, error) {
	e.ID = ulid.Make().String()
	e.At = now.UTC()
	e.ActorID, e.ActorRole, e.IP, e.UserAgent = a.UserID, string(a.Role), a.IP, a.UserAgent
	r := row{Keys: store.Keys{PK: tenant.PK(a.OrgID), SK: string(log) + e.ID, Type: "activity"}, Entry: e}
	if log != MainLog {
		return db.Put(r, store.NotExists())
	}
	if e.ClientID != "" {
		r.GSI1PK, r.GSI1SK = clientPK(a.OrgID, e.ClientID), e.ID
	}
	if e.MatterID != "" {
		r.GSI2PK, r.GSI2SK = matterPK(a.OrgID, e.MatterID), e.ID
	}
	return db.Put(r, store.NotExists())
}

// Filter picks the log of one client or one matter; empty, the whole org's.
type Filter struct{ ClientID, MatterID string }

// Commit writes items, the entry e of log describing them and a check that
// a still holds perm, in one transaction: the change and its record land
// together or not at all. A failed condition comes back as a
// *store.TxCanceledError whose indexes are those of items; a lost role is
// tenant.ErrRoleChanged.
func Commit(ctx context.Context, db *store.DB, log Log, a caller.Caller, now time.Time, perm access.Permission, e Entry, items ...types.TransactWriteItem) error {
	rec, err := RecordIn(db, log, a, now, e)
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

// List reads one page of the main log, newest first.
func List(ctx context.Context, db *store.DB, orgID string, f Filter, limit int32, start store.StartKey) ([]Entry, store.StartKey, error) {
	q := store.Query{PK: tenant.PK(orgID), SKPrefix: string(MainLog), Limit: limit, StartKey: start, Consistent: true}
	switch {
	case f.MatterID != "":
		q = store.Query{Index: store.IndexGSI2, PK: matterPK(orgID, f.MatterID), Limit: limit, StartKey: start}
	case f.ClientID != "":
		q = store.Query{Index: store.IndexGSI1, PK: clientPK(orgID, f.ClientID), Limit: limit, StartKey: start}
	}
	return query(ctx, db, q)
}

// ListIn reads one page of a log other than the main one, newest first.
func ListIn(ctx context.Context, db *store.DB, log Log, orgID string, limit int32, start store.StartKey) ([]Entry, store.StartKey, error) {
	return query(ctx, db, store.Query{PK: tenant.PK(orgID), SKPrefix: string(log), Limit: limit, StartKey: start, Consistent: true})
}

func query(ctx context.Context, db *store.DB, q store.Query) ([]Entry, store.StartKey, error) {
	var rows []row
	next, err := db.QueryPage(ctx, q, &rows)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[i] = r.Entry
	}
	return out, next, nil
}
