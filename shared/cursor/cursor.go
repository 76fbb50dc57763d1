// Package cursor seals DynamoDB LastEvaluatedKeys into opaque pagination
// cursors. A cursor is bound to its scope (the org and the list it came
// from) with an HMAC, so an edited cursor, or one from another org or list,
// is refused instead of steering a query.
package cursor

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
)

// Sealer seals and opens cursors with one HMAC key.
type Sealer struct{ key []byte }

// New returns a Sealer; key must be at least 32 bytes.
func New(key []byte) (*Sealer, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("cursor key: %d bytes, want at least 32", len(key))
	}
	return &Sealer{key: key}, nil
}

// Seal turns a LastEvaluatedKey into a cursor for scope. An empty key (the
// last page) gives "". Only string key attributes are supported: every key of
// the table and its indexes is a string.
func (s *Sealer) Seal(scope string, key store.StartKey) (string, error) {
	if len(key) == 0 {
		return "", nil
	}
	plain := make(map[string]string, len(key))
	for k, v := range key {
		sv, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("cursor: key attribute %s is not a string", k)
		}
		plain[k] = sv.Value
	}
	payload, err := json.Marshal(plain)
	if err != nil {
		return "", fmt.Errorf("cursor: %w", err)
	}
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(s.mac(scope, p)), nil
}

// Open checks a cursor against scope and returns its key. "" opens to nil
// (the first page). A bad cursor answers a Malformed fault (400).
func (s *Sealer) Open(scope, c string) (store.StartKey, error) {
	if c == "" {
		return nil, nil
	}
	bad := fault.E(fault.Malformed, "The cursor is invalid; start again from the first page.")
	p, sig, ok := strings.Cut(c, ".")
	if !ok {
		return nil, bad
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(scope, p)) {
		return nil, bad
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return nil, bad
	}
	var plain map[string]string
	if err := json.Unmarshal(payload, &plain); err != nil || len(plain) == 0 {
		return nil, bad
	}
	key := make(store.StartKey, len(plain))
	for k, v := range plain {
		key[k] = &types.AttributeValueMemberS{Value: v}
	}
	return key, nil
}

func (s *Sealer) mac(scope, payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(scope))
	m.Write([]byte{0})
	m.Write([]byte(payload))
	return m.Sum(nil)
}
