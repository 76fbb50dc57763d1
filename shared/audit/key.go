package audit

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/matterly/matterly/shared/envelope"
	"github.com/matterly/matterly/shared/tenant"
)

// Entry versions: how an entry's hash is made.
const (
	// V1 entries (stored without a version) are hashed with plain SHA-256:
	// anyone who can write the table can recompute them, so they are
	// verifiable but not tamper-evident against a table writer. Only
	// entries appended before the org's chain key existed are V1.
	V1 = 1
	// V2 entries are HMAC-SHA256 under the org's chain key, which only the
	// relay (that appends) and the verify route can open.
	V2 = 2
)

// The org's chain key: 32 random bytes sealed with envelope (in AWS under
// the audit KMS key, whose use only the relay and the verify route are
// granted; the table's writers are not), with the first sequence number
// it keys. Both are inside the sealed value, so a table writer can
// neither read the key nor move the point from which entries must be V2.
const keySK = "AUDITKEY"

type keyRow struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Type   string `dynamodbav:"type"`
	Sealed string `dynamodbav:"sealed"`
}

// keyBlob is what a key row seals.
type keyBlob struct {
	Key  []byte `json:"key"`
	From int64  `json:"from"` // the first entry the key hashes
}

func keyPurpose(orgID string) string { return "audit-chain:" + orgID }

// ErrNoKeyring is returned by an operation on a keyed chain without the
// sealer to open its key.
var ErrNoKeyring = errors.New("audit: the chain is keyed and no audit key sealer is configured")

// Keyring makes and opens the orgs' chain keys, keeping each opened key
// in memory (a warm function opens an org's key once, so KMS is asked once
// per org and container, never per entry).
type Keyring struct {
	sealer *envelope.Sealer
	mu     sync.Mutex
	open   map[string]openKey // by org
}

type openKey struct {
	sealed string // the value it was opened from
	blob   keyBlob
}

// NewKeyring returns the keyring of sealer (the audit key's).
func NewKeyring(sealer *envelope.Sealer) *Keyring {
	return &Keyring{sealer: sealer, open: map[string]openKey{}}
}

// opened opens row, org's key item.
func (k *Keyring) opened(ctx context.Context, orgID string, row keyRow) (keyBlob, error) {
	if k == nil || k.sealer == nil {
		return keyBlob{}, ErrNoKeyring
	}
	k.mu.Lock()
	o, ok := k.open[orgID]
	k.mu.Unlock()
	if ok && o.sealed == row.Sealed {
		return o.blob, nil
	}
	plain, err := k.sealer.Open(ctx, keyPurpose(orgID), row.Sealed)
	if err != nil {
		return keyBlob{}, err
	}
	var b keyBlob
	if err := json.Unmarshal(plain, &b); err != nil || len(b.Key) != 32 || b.From < 1 {
		return keyBlob{}, envelope.ErrOpen
	}
	k.mu.Lock()
	k.open[orgID] = openKey{sealed: row.Sealed, blob: b}
	k.mu.Unlock()
	return b, nil
}

// fresh makes a new key for orgID's chain, keying entries from seq on.
func (k *Keyring) fresh(ctx context.Context, orgID string, from int64) (keyRow, keyBlob, error) {
	if k == nil || k.sealer == nil {
		return keyRow{}, keyBlob{}, ErrNoKeyring
	}
	b := keyBlob{Key: make([]byte, 32), From: from}
	if _, err := rand.Read(b.Key); err != nil {
		return keyRow{}, keyBlob{}, err
	}
	plain, _ := json.Marshal(b)
	sealed, err := k.sealer.Seal(ctx, keyPurpose(orgID), plain)
	if err != nil {
		return keyRow{}, keyBlob{}, fmt.Errorf("audit: seal the chain key: %w", err)
	}
	return keyRow{PK: tenant.PK(orgID), SK: keySK, Type: "auditKey", Sealed: sealed}, b, nil
}

// MAC is entry e's V2 hash: HMAC-SHA256 under key of the canonical
// content and the previous entry's hash, in hex.
func MAC(key []byte, orgID string, e Entry, prevHash string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("matterly-audit-v2\n"))
	h.Write(Canonical(orgID, e))
	h.Write([]byte(prevHash))
	return hex.EncodeToString(h.Sum(nil))
}
