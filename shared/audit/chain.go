// Package audit is the org's tamper-evident audit log. It is fed from the
// activity log: every activity entry (main and trust logs, account events)
// is already written in the transaction of the change it records, and the
// stream relay appends each new one here, so auditing adds no DynamoDB call
// to a request.
//
// The log is a hash chain per org: entry n carries
// hash = SHA-256(canonical content of n || hash of n-1), and the chain's
// head item holds the last sequence number and hash. Editing, removing,
// reordering or truncating entries breaks a link that Verify finds. No
// route edits or deletes an entry: the API only lists and verifies.
//
// Appending is exactly once in effect: the head's conditional update, the
// entry and a marker keyed by the activity entry's id are one
// transaction, so a stream redelivery finds its marker and does nothing.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Entry is one audit log entry: the activity entry it was made from, its
// place in the chain and its hash.
type Entry struct {
	Seq        int64    `dynamodbav:"seq" json:"seq"`
	ID         string   `dynamodbav:"id" json:"id"`   // the activity entry's id
	Log        string   `dynamodbav:"log" json:"log"` // "main", "trust"
	At         string   `dynamodbav:"at" json:"at"`   // RFC 3339, as the activity entry holds it
	ActorID    string   `dynamodbav:"actorId" json:"actorId"`
	ActorRole  string   `dynamodbav:"actorRole" json:"actorRole"`
	Action     string   `dynamodbav:"action" json:"action"`
	EntityType string   `dynamodbav:"entityType" json:"entityType"`
	EntityID   string   `dynamodbav:"entityId" json:"entityId"`
	ClientID   string   `dynamodbav:"clientId,omitempty" json:"clientId,omitempty"`
	MatterID   string   `dynamodbav:"matterId,omitempty" json:"matterId,omitempty"`
	Fields     []string `dynamodbav:"fields,omitempty" json:"fields,omitempty"`
	Detail     string   `dynamodbav:"detail,omitempty" json:"detail,omitempty"`
	IP         string   `dynamodbav:"ip" json:"ip"`
	UserAgent  string   `dynamodbav:"userAgent" json:"userAgent"`
	PrevHash   string   `dynamodbav:"prevHash" json:"prevHash"`
	Hash       string   `dynamodbav:"hash" json:"hash"`
}

// canonical is the hashed content of an entry: every field but the hashes,
// plus the org, in this fixed order. encoding/json writes struct fields in
// declaration order and escapes strings one way, so equal content always
// encodes to equal bytes; the org and the sequence number in it make an
// entry moved to another place or org fail its check.
type canonical struct {
	OrgID      string   `json:"orgId"`
	Seq        int64    `json:"seq"`
	ID         string   `json:"id"`
	Log        string   `json:"log"`
	At         string   `json:"at"`
	ActorID    string   `json:"actorId"`
	ActorRole  string   `json:"actorRole"`
	Action     string   `json:"action"`
	EntityType string   `json:"entityType"`
	EntityID   string   `json:"entityId"`
	ClientID   string   `json:"clientId"`
	MatterID   string   `json:"matterId"`
	Fields     []string `json:"fields"`
	Detail     string   `json:"detail"`
	IP         string   `json:"ip"`
	UserAgent  string   `json:"userAgent"`
}

// Canonical returns the bytes of e's content that its hash covers.
func Canonical(orgID string, e Entry) []byte {
	fields := e.Fields
	if fields == nil {
		fields = []string{} // absent and empty are the same content
	}
	b, err := json.Marshal(canonical{OrgID: orgID, Seq: e.Seq, ID: e.ID, Log: e.Log, At: e.At, ActorID: e.ActorID,
		ActorRole: e.ActorRole, Action: e.Action, EntityType: e.EntityType, EntityID: e.EntityID, ClientID: e.ClientID,
		MatterID: e.MatterID, Fields: fields, Detail: e.Detail, IP: e.IP, UserAgent: e.UserAgent})
	if err != nil {
		panic(err) // strings, ints and a string slice always encode
	}
	return b
}

// Hash is SHA-256(canonical content || previous entry's hash), in hex. The
// first entry of an org's chain has "" as its previous hash.
func Hash(orgID string, e Entry, prevHash string) string {
	h := sha256.New()
	h.Write(Canonical(orgID, e))
	h.Write([]byte(prevHash))
	return hex.EncodeToString(h.Sum(nil))
}

// Key layout, under the org's partition.
const (
	headSK   = "AUDITHEAD"
	entryPfx = "AUDIT#"
	refPfx   = "AUDITREF#"
)

func entrySK(seq int64) string { return fmt.Sprintf("%s%012d", entryPfx, seq) }

// EntrySK is the sort key of entry seq (for tests and operators).
func EntrySK(seq int64) string { return entrySK(seq) }

type headRow struct {
	PK   string `dynamodbav:"PK"`
	SK   string `dynamodbav:"SK"`
	Type string `dynamodbav:"type"`
	Seq  int64  `dynamodbav:"seq"`
	Hash string `dynamodbav:"hash"`
}

type entryRow struct {
	store.Keys
	Entry
}

// refRow marks an activity entry as appended, at seq.
type refRow struct {
	PK   string `dynamodbav:"PK"`
	SK   string `dynamodbav:"SK"`
	Type string `dynamodbav:"type"`
	Seq  int64  `dynamodbav:"seq"`
}

// appendAttempts bounds the retries of an append that lost the head to a
// concurrent one (the stream sends one org's records in order, so only a
// replay running beside it can).
const appendAttempts = 5

// Append adds the activity entry e (Seq, PrevHash and Hash are set here) to
// orgID's chain. It reports false when e was appended before: a stream
// redelivery is a no-op.
func Append(ctx context.Context, db *store.DB, orgID string, e Entry) (bool, error) {
	if orgID == "" || e.ID == "" {
		return false, errors.New("audit: an entry needs its org and id")
	}
	pk := tenant.PK(orgID)
	for range appendAttempts {
		var head headRow
		var ref refRow
		h := &store.KeyOut{PK: pk, SK: headSK, Out: &head}
		r := &store.KeyOut{PK: pk, SK: refPfx + e.ID, Out: &ref}
		if err := db.BatchGet(ctx, h, r); err != nil {
			return false, err
		}
		if r.Found {
			return false, nil
		}
		e.Seq, e.PrevHash = head.Seq+1, head.Hash
		e.Hash = Hash(orgID, e, e.PrevHash)
		headCond := store.NotExists()
		if h.Found {
			headCond = &store.Cond{Expr: "seq = :prev", Values: map[string]types.AttributeValue{":prev": store.N(head.Seq)}}
		}
		headPut, err := db.Put(headRow{PK: pk, SK: headSK, Type: "auditHead", Seq: e.Seq, Hash: e.Hash}, headCond)
		if err != nil {
			return false, err
		}
		entryPut, err := db.Put(entryRow{Keys: store.Keys{PK: pk, SK: entrySK(e.Seq), Type: "audit"}, Entry: e}, store.NotExists())
		if err != nil {
			return false, err
		}
		refPut, err := db.Put(refRow{PK: pk, SK: refPfx + e.ID, Type: "auditRef", Seq: e.Seq}, store.NotExists())
		if err != nil {
			return false, err
		}
		err = db.Transact(ctx, headPut, entryPut, refPut)
		switch {
		case err == nil:
			return true, nil
		case store.Failed(err, 2):
			return false, nil // appended meanwhile by a concurrent delivery
		case store.Failed(err, 0) || store.Failed(err, 1):
			continue // the head moved on: read it again
		default:
			return false, err
		}
	}
	return false, fmt.Errorf("audit: the chain head of org %s kept moving; the stream will retry", orgID)
}

// Broken names the first entry whose link does not hold.
type Broken struct {
	Seq    int64  `json:"seq"`
	ID     string `json:"id,omitempty"` // "" when the entry is missing
	Reason string `json:"reason"`
}

// Verification is the result of checking a whole chain.
type Verification struct {
	Entries     int64   `json:"entries"`
	Valid       bool    `json:"valid"`
	FirstBroken *Broken `json:"firstBroken,omitempty"`
}

// verifyPage is how many entries Verify reads per query.
const verifyPage = 500

// Verify walks orgID's chain from the first entry and recomputes every
// hash: an edited entry fails its own hash, a removed or reordered one the
// sequence or the next link, a removed tail the head. It holds one page
// at a time, whatever the chain's length.
func Verify(ctx context.Context, db *store.DB, orgID string) (Verification, error) {
	pk := tenant.PK(orgID)
	var v Verification
	prev := ""
	var start store.StartKey
	for {
		var rows []entryRow
		next, err := db.QueryPage(ctx, store.Query{PK: pk, SKPrefix: entryPfx, Forward: true, Limit: verifyPage,
			StartKey: start, Consistent: true}, &rows)
		if err != nil {
			return Verification{}, err
		}
		for _, r := range rows {
			want := v.Entries + 1
			if b := check(orgID, r, want, prev); b != nil {
				v.FirstBroken = b
				return v, nil
			}
			v.Entries, prev = want, r.Hash
		}
		if next == nil {
			break
		}
		start = next
	}
	var head headRow
	err := db.Get(ctx, pk, headSK, &head)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Verification{}, err
	}
	switch {
	case head.Seq > v.Entries:
		v.FirstBroken = &Broken{Seq: v.Entries + 1, Reason: "missing: the chain ends before its head"}
	case head.Seq < v.Entries || head.Hash != prev:
		v.FirstBroken = &Broken{Seq: head.Seq, Reason: "the chain head does not match the last entry"}
	default:
		v.Valid = true
	}
	return v, nil
}

// check reports what is wrong with row as entry want after hash prev.
func check(orgID string, r entryRow, want int64, prev string) *Broken {
	switch {
	case r.Seq != want || r.SK != entrySK(r.Seq):
		return &Broken{Seq: want, ID: r.ID, Reason: "out of sequence: an entry is missing or was moved"}
	case r.PrevHash != prev:
		return &Broken{Seq: want, ID: r.ID, Reason: "does not link to the previous entry"}
	case Hash(orgID, r.Entry, prev) != r.Hash:
		return &Broken{Seq: want, ID: r.ID, Reason: "its content does not match its hash"}
	}
	return nil
}
