// Package audit is the org's tamper-evident audit log. It is fed from the
// activity log: every activity entry (main and trust logs, account events)
// is already written in the transaction of the change it records, and the
// stream relay appends each new one here, so auditing adds no DynamoDB call
// to a request.
//
// The log is a hash chain per org: entry n carries
// hash = HMAC-SHA256(org's chain key, canonical content of n || hash of
// n-1), and the chain's head item holds the last sequence number and hash.
// Editing, removing, reordering or truncating entries breaks a link that
// Verify finds. The chain key (key.go) is sealed with the audit KMS key,
// which the table's writers may not use, so one who rewrites an entry
// cannot recompute the hashes after it; entries appended before an org had
// its key are V1, hashed with plain SHA-256, and stay verifiable. Each
// daily retention run anchors the head (anchor.go) in S3, out of the table
// writers' reach, and Verify checks the latest anchor. No route edits or
// deletes an entry: the API only lists and verifies.
//
// Appending is exactly once in effect: the head's conditional update, the
// entry and a marker keyed by the activity entry's id are one
// transaction, so a stream redelivery finds its marker and does nothing.
package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/envelope"
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
	// Version is how Hash was made: V1 (stored as absent) or V2.
	Version int `dynamodbav:"v,omitempty" json:"version"`
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

// Hash is the V1 hash: SHA-256(canonical content || previous entry's
// hash), in hex. The first entry of an org's chain has "" as its previous
// hash. The version is not part of the content: it says which hash the
// entry carries, and Verify knows from the sealed key which it must be.
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

// Chain is the audit log's store: the table, the keyring that makes and
// opens the orgs' chain keys and, where anchors are kept, their store.
type Chain struct {
	DB *store.DB
	// Keys keys the chains. Nil only where no entry is appended or a
	// keyed chain verified (a verify of a keyed chain without it fails).
	Keys *Keyring
	// Anchors, when set, is where Anchor writes and Verify reads the
	// chains' daily heads.
	Anchors *Anchors
}

// Append adds the activity entry e (Seq, PrevHash, Hash and Version are set
// here) to orgID's chain, as a V2 entry under the org's key (made, sealed
// and stored with the first entry that needs it). It reports false when e
// was appended before: a stream redelivery is a no-op. One batch read and
// one transaction, whether or not the key was made.
func (c Chain) Append(ctx context.Context, orgID string, e Entry) (bool, error) {
	if orgID == "" || e.ID == "" {
		return false, errors.New("audit: an entry needs its org and id")
	}
	if c.Keys == nil {
		return false, ErrNoKeyring
	}
	pk := tenant.PK(orgID)
	for range appendAttempts {
		var head headRow
		var ref refRow
		var key keyRow
		h := &store.KeyOut{PK: pk, SK: headSK, Out: &head}
		r := &store.KeyOut{PK: pk, SK: refPfx + e.ID, Out: &ref}
		k := &store.KeyOut{PK: pk, SK: keySK, Out: &key}
		if err := c.DB.BatchGet(ctx, h, r, k); err != nil {
			return false, err
		}
		if r.Found {
			return false, nil
		}
		e.Seq, e.PrevHash, e.Version = head.Seq+1, head.Hash, V2
		var blob keyBlob
		var keyPut *types.TransactWriteItem
		if k.Found {
			b, err := c.Keys.opened(ctx, orgID, key)
			if err != nil {
				// A key that does not open was replaced in the table: no
				// entry is appended under a key the verify cannot trust.
				return false, fmt.Errorf("audit: the chain key of org %s: %w", orgID, err)
			}
			blob = b
		} else {
			row, b, err := c.Keys.fresh(ctx, orgID, e.Seq)
			if err != nil {
				return false, err
			}
			put, err := c.DB.Put(row, store.NotExists())
			if err != nil {
				return false, err
			}
			blob, keyPut = b, &put
		}
		e.Hash = MAC(blob.Key, orgID, e, e.PrevHash)
		headCond := store.NotExists()
		if h.Found {
			headCond = &store.Cond{Expr: "seq = :prev", Values: map[string]types.AttributeValue{":prev": store.N(head.Seq)}}
		}
		headPut, err := c.DB.Put(headRow{PK: pk, SK: headSK, Type: "auditHead", Seq: e.Seq, Hash: e.Hash}, headCond)
		if err != nil {
			return false, err
		}
		entryPut, err := c.DB.Put(entryRow{Keys: store.Keys{PK: pk, SK: entrySK(e.Seq), Type: "audit"}, Entry: e}, store.NotExists())
		if err != nil {
			return false, err
		}
		refPut, err := c.DB.Put(refRow{PK: pk, SK: refPfx + e.ID, Type: "auditRef", Seq: e.Seq}, store.NotExists())
		if err != nil {
			return false, err
		}
		items := []types.TransactWriteItem{headPut, entryPut, refPut}
		if keyPut != nil {
			items = append(items, *keyPut)
		}
		err = c.DB.Transact(ctx, items...)
		switch {
		case err == nil:
			return true, nil
		case store.Failed(err, 2):
			return false, nil // appended meanwhile by a concurrent delivery
		case store.Failed(err, 0) || store.Failed(err, 1) || store.Failed(err, 3):
			continue // the head moved on, or a concurrent append made the key: read them again
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
	// KeyedFrom is the first entry hashed under the org's chain key (V2);
	// those before it are V1. Absent while the chain has no key.
	KeyedFrom int64 `json:"keyedFrom,omitempty"`
	// Anchor is the latest daily anchor of the chain's head the check
	// compared the chain with, absent when there is none yet.
	Anchor *AnchorRef `json:"anchor,omitempty"`
}

// verifyPage is how many entries Verify reads per query.
const verifyPage = 500

// Verify walks orgID's chain from the first entry and recomputes every
// hash: an edited entry fails its own hash, a removed or reordered one the
// sequence or the next link, a removed tail the head. Entries from the
// sealed key's first on must be V2, under that key: one rewritten and
// rehashed by someone without the key (plain SHA-256, or another key)
// fails. A chain whose key item was removed or replaced fails at its
// first V2 entry; one rewritten whole, V1 and keyless, fails the latest
// anchor of its head. It holds one page at a time, whatever the chain's
// length.
func (c Chain) Verify(ctx context.Context, orgID string) (Verification, error) {
	pk := tenant.PK(orgID)
	var v Verification
	var key *keyBlob
	var keyErr string
	var kr keyRow
	switch err := c.DB.Get(ctx, pk, keySK, &kr); {
	case err == nil:
		b, err := c.Keys.opened(ctx, orgID, kr)
		switch {
		case err == nil:
			key, v.KeyedFrom = &b, b.From
		case errors.Is(err, envelope.ErrOpen):
			keyErr = "the chain's key does not open: it was replaced"
		default:
			return Verification{}, err
		}
	case errors.Is(err, store.ErrNotFound):
		keyErr = "the chain's key is missing"
	default:
		return Verification{}, err
	}
	var anchor *Anchor
	if c.Anchors != nil {
		a, err := c.Anchors.Latest(ctx, orgID)
		if err != nil {
			return Verification{}, err
		}
		if a != nil {
			anchor, v.Anchor = a, &AnchorRef{Day: a.Day, Seq: a.Seq}
		}
	}
	var anchorBroken *Broken
	prev := ""
	var start store.StartKey
	for {
		var rows []entryRow
		next, err := c.DB.QueryPage(ctx, store.Query{PK: pk, SKPrefix: entryPfx, Forward: true, Limit: verifyPage,
			StartKey: start, Consistent: true}, &rows)
		if err != nil {
			return Verification{}, err
		}
		for _, r := range rows {
			want := v.Entries + 1
			if b := check(orgID, r, want, prev, key, keyErr); b != nil {
				v.FirstBroken = b
				return v, nil
			}
			if anchor != nil && want == anchor.Seq && r.Hash != anchor.Hash {
				anchorBroken = &Broken{Seq: want, ID: r.ID, Reason: "does not match the anchor of its chain's head of " + anchor.Day + ": the chain was rewritten"}
			}
			v.Entries, prev = want, r.Hash
		}
		if next == nil {
			break
		}
		start = next
	}
	var head headRow
	err := c.DB.Get(ctx, pk, headSK, &head)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Verification{}, err
	}
	switch {
	case head.Seq > v.Entries:
		v.FirstBroken = &Broken{Seq: v.Entries + 1, Reason: "missing: the chain ends before its head"}
	case head.Seq < v.Entries || head.Hash != prev:
		v.FirstBroken = &Broken{Seq: head.Seq, Reason: "the chain head does not match the last entry"}
	case anchor != nil && v.Entries < anchor.Seq:
		v.FirstBroken = &Broken{Seq: v.Entries + 1, Reason: "missing: the chain ends before its anchor of " + anchor.Day}
	case anchorBroken != nil:
		v.FirstBroken = anchorBroken
	default:
		v.Valid = true
	}
	return v, nil
}

// check reports what is wrong with row as entry want after hash prev,
// under key (nil when the chain has none, keyErr saying why).
func check(orgID string, r entryRow, want int64, prev string, key *keyBlob, keyErr string) *Broken {
	switch {
	case r.Seq != want || r.SK != entrySK(r.Seq):
		return &Broken{Seq: want, ID: r.ID, Reason: "out of sequence: an entry is missing or was moved"}
	case r.PrevHash != prev:
		return &Broken{Seq: want, ID: r.ID, Reason: "does not link to the previous entry"}
	}
	switch r.Version {
	case 0, V1:
		if key != nil && r.Seq >= key.From {
			return &Broken{Seq: want, ID: r.ID, Reason: "unkeyed (version 1) where the chain is keyed: its hash was recomputed without the key"}
		}
		if Hash(orgID, r.Entry, prev) != r.Hash {
			return &Broken{Seq: want, ID: r.ID, Reason: "its content does not match its hash"}
		}
	case V2:
		if key == nil {
			return &Broken{Seq: want, ID: r.ID, Reason: "keyed, but " + keyErr}
		}
		if r.Seq < key.From {
			return &Broken{Seq: want, ID: r.ID, Reason: "keyed before the chain's key was made"}
		}
		if !hmac.Equal([]byte(MAC(key.Key, orgID, r.Entry, prev)), []byte(r.Hash)) {
			return &Broken{Seq: want, ID: r.ID, Reason: "its content does not match its hash (keyed)"}
		}
	default:
		return &Broken{Seq: want, ID: r.ID, Reason: "of an unknown version"}
	}
	return nil
}
