// Package idempotency makes a create safe to retry: a client sends an
// Idempotency-Key header, the create claims it (with a fingerprint of the
// request and a reference to what it made) in the same transaction as the
// thing itself, and a retry with the same key finds the claim and answers
// what the first request made, instead of making it twice. A different
// request under a used key is refused. Claims last a day.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Header is the request header that carries a key.
const Header = "Idempotency-Key"

// ReplayedHeader marks an answer replayed from an earlier request.
const ReplayedHeader = "Idempotent-Replayed"

// TTL is how long a key is remembered (Stripe's window too).
const TTL = 24 * time.Hour

// Rule names the refusal of a key reused for a different request.
const Rule = "idempotency-key-reused"

// keyOK reports whether key is 1 to 255 letters, digits or ._:-. A loop,
// not the regular expression it replaces: ^[...]{1,255}$ compiles to 255
// copies of the class, 240 KB and 3,000 allocations at every cold start of
// every API function.
func keyOK(key string) bool {
	return check.Bytes(key, 1, 255, func(c byte) bool { return check.Word(c) || c == '.' || c == ':' })
}

// Check validates a key; "" (no key) is valid.
func Check(key string) error {
	if key != "" && !keyOK(key) {
		return fault.Fields(fault.FieldError{Field: Header, Message: "must be 1 to 255 letters, digits or ._:-"})
	}
	return nil
}

// Record is a claimed key: the request's fingerprint and what it made.
type Record struct {
	store.Keys
	Hash      string `dynamodbav:"hash"`
	Ref       string `dynamodbav:"ref"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
}

// SK is where scope's claim of key lives in the org's partition.
func SK(scope, key string) string { return "IDEM#" + scope + "#" + key }

// Fingerprint identifies a request by its decoded input.
func Fingerprint(in any) string {
	b, _ := json.Marshal(in) // request structs always marshal
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Live reports whether a record read at now still holds its key (reads
// never rely on TTL deletion having happened).
func (r Record) Live(now time.Time) bool { return r.ExpiresAt > now.Unix() }

// Matches refuses a live claim made by a different request.
func (r Record) Matches(fingerprint string) error {
	if r.Hash != fingerprint {
		return fault.Refused(Rule, "This Idempotency-Key was used for a different request in the last 24 hours; use a new key for a new request.")
	}
	return nil
}

// Claim is the transaction item that claims key for the request with
// fingerprint, which made ref; it fails while another live claim holds it.
func Claim(db *store.DB, orgID, scope, key, fingerprint, ref string, now time.Time) (types.TransactWriteItem, error) {
	return db.Put(Record{
		Keys: store.Keys{PK: tenant.PK(orgID), SK: SK(scope, key), Type: "idempotencyKey"},
		Hash: fingerprint, Ref: ref, ExpiresAt: now.Add(TTL).Unix(),
	}, &store.Cond{Expr: "attribute_not_exists(PK) OR expiresAt < :now", Values: map[string]types.AttributeValue{":now": store.N(now.Unix())}})
}

// ErrClaimed says a create lost its key to an earlier request (the claim's
// condition failed in its transaction): answer with Replay.
var ErrClaimed = errors.New("idempotency key already claimed")

// Replay reads scope's claim of key and returns what the claiming request
// made (its Ref); a different request under the key is refused.
func Replay(ctx context.Context, db *store.DB, orgID, scope, key, fingerprint string) (string, error) {
	var rec Record
	if err := db.Get(ctx, tenant.PK(orgID), SK(scope, key), &rec); err != nil {
		return "", err
	}
	if err := rec.Matches(fingerprint); err != nil {
		return "", err
	}
	return rec.Ref, nil
}
