// Package storetest gives a domain package's own tests a real table: the
// embedded DynamoDB of shared/localaws, started once per test binary and
// shared by every test in it, and fixtures (an org with an owner member)
// written the way identity writes them. Tests do not share data: each makes
// its own org, and every tenant item lives under that org's fresh id, so
// the org id is the per-test key prefix and tests may run in parallel.
//
// Only shared/store and shared/localaws are imported here, so any domain
// package's tests can import storetest without a cycle.
package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/matterly/matterly/shared/localaws"
	"github.com/matterly/matterly/shared/store"
)

var (
	once   sync.Once
	shared *store.DB
	errRun error
)

// DB is the table of the test binary's embedded DynamoDB, started on first
// use. The server lives until the binary exits: stopping it after one test
// would take it from the others, and the process's end frees it anyway.
func DB(t testing.TB) *store.DB {
	t.Helper()
	once.Do(func() {
		var d *localaws.Dynamo
		d, errRun = localaws.StartDynamo("")
		if errRun == nil {
			shared = store.New(d.Client(), d.TableName())
		}
	})
	if errRun != nil {
		t.Fatalf("embedded DynamoDB: %v", errRun)
	}
	return shared
}

// ID is a fresh id of the kind the services make (a ULID).
func ID() string { return ulid.Make().String() }

// Org is a fixture org: its id, its owner's id and its time zone.
type Org struct {
	ID, OwnerID, Timezone string
}

// OrgOption changes the fixture org before it is written.
type OrgOption func(*Org)

// InZone sets the org's time zone (IANA); the default is UTC.
func InZone(tz string) OrgOption { return func(o *Org) { o.Timezone = tz } }

// WithID gives the org a fixed id, for inputs that name one (the samples
// under events/). Only one test of a binary may use a given id.
func WithID(id string) OrgOption { return func(o *Org) { o.ID = id } }

// NewOrg writes a fresh org with one owner member to db and returns it.
func NewOrg(t testing.TB, db *store.DB, opts ...OrgOption) Org {
	t.Helper()
	o := Org{ID: ID(), OwnerID: ID(), Timezone: "UTC"}
	for _, opt := range opts {
		opt(&o)
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	// The attributes identity's org row has (shared/identity/model.go),
	// spelled out here because storetest may not import identity.
	org := map[string]any{
		store.AttrPK: "ORG#" + o.ID, store.AttrSK: "ORG", "type": "org", "id": o.ID,
		"name": "Test firm " + o.ID, "timezone": o.Timezone, "ownerCount": 1,
		"createdAt": now, "updatedAt": now,
	}
	put(t, db, org)
	AddMember(t, db, o.ID, o.OwnerID, "owner")
	return o
}

// AddMember writes a member of org with role (an access.Role's string).
func AddMember(t testing.TB, db *store.DB, orgID, userID, role string) {
	t.Helper()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	put(t, db, map[string]any{
		store.AttrPK: "ORG#" + orgID, store.AttrSK: "USER#" + userID, "type": "user", "id": userID, "orgId": orgID,
		"name": "Member " + userID, "email": userID + "@example.com", "username": userID, "role": role,
		"passwordHash": "x", "createdAt": now, "updatedAt": now,
	})
}

// Put writes item (a struct with dynamodbav tags or a map) as it is.
func Put(t testing.TB, db *store.DB, item any) {
	t.Helper()
	put(t, db, item)
}

func put(t testing.TB, db *store.DB, item any) {
	t.Helper()
	if err := db.PutItem(context.Background(), item, nil); err != nil {
		t.Fatalf("write fixture: %v", err)
	}
}
