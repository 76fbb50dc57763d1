// Package envelope encrypts small secrets at rest: two-factor secrets,
// OAuth refresh tokens. In AWS each value gets its own data key from KMS
// (GenerateDataKey under the data key's ARN); the value is sealed with
// AES-256-GCM under that data key and stored beside the data key's KMS
// ciphertext, so reading it back needs kms:Decrypt, which only the functions
// that use such secrets are granted. Locally (make dev, tests) a key derived
// from the dev root stands in for KMS.
//
// Every value is bound to a purpose ("totp:<userId>", "msgraph:<userId>"):
// it is the GCM additional data and, in AWS, the KMS encryption context, so
// a sealed value copied onto another member's item does not open there.
package envelope

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KMS is KMS as the sealer uses it: AES-256 data keys of a key, bound to
// the value's purpose (the encryption context). The SDK's client is
// adapted in shared/platform/awskms, so only the functions that seal link
// the KMS client.
type KMS interface {
	// GenerateDataKey returns a fresh AES-256 data key of keyID, in
	// plaintext and wrapped under keyID with purpose as encryption context.
	GenerateDataKey(ctx context.Context, keyID, purpose string) (plaintext, wrapped []byte, err error)
	// Decrypt unwraps a data key GenerateDataKey wrapped for the same
	// purpose; ErrOpen when KMS refuses the ciphertext as invalid.
	Decrypt(ctx context.Context, keyID, purpose string, wrapped []byte) ([]byte, error)
}

// Sealer seals and opens values. The zero value is unusable: build it with
// NewKMS or NewLocal.
type Sealer struct {
	kms   KMS
	keyID string
	local []byte // the local stand-in's AES-256 key
}

// ErrOpen is returned for a value that is not a sealed value of this
// sealer and purpose (tampered with, or moved to another purpose).
var ErrOpen = errors.New("envelope: value does not open")

// NewKMS seals under fresh data keys of the KMS key keyID.
func NewKMS(api KMS, keyID string) *Sealer {
	return &Sealer{kms: api, keyID: keyID}
}

// NewLocal seals under a fixed 32-byte key (the dev root's derivation).
func NewLocal(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("envelope: local key is %d bytes, want 32", len(key))
	}
	return &Sealer{local: key}, nil
}

const (
	kmsPrefix   = "k1."
	localPrefix = "l1."
)

// Seal encrypts plaintext for purpose. The result is printable ASCII.
func (s *Sealer) Seal(ctx context.Context, purpose string, plaintext []byte) (string, error) {
	if s.local != nil {
		ct, err := seal(s.local, purpose, plaintext)
		if err != nil {
			return "", err
		}
		return localPrefix + b64(ct), nil
	}
	key, wrapped, err := s.kms.GenerateDataKey(ctx, s.keyID, purpose)
	if err != nil {
		return "", fmt.Errorf("envelope: data key: %w", err)
	}
	defer clear(key)
	ct, err := seal(key, purpose, plaintext)
	if err != nil {
		return "", err
	}
	return kmsPrefix + b64(wrapped) + "." + b64(ct), nil
}

// Open decrypts a value Seal made for the same purpose.
func (s *Sealer) Open(ctx context.Context, purpose, sealed string) ([]byte, error) {
	switch {
	case s.local != nil && strings.HasPrefix(sealed, localPrefix):
		ct, err := unb64(sealed[len(localPrefix):])
		if err != nil {
			return nil, ErrOpen
		}
		return open(s.local, purpose, ct)
	case s.local == nil && strings.HasPrefix(sealed, kmsPrefix):
		blob, rest, ok := strings.Cut(sealed[len(kmsPrefix):], ".")
		if !ok {
			return nil, ErrOpen
		}
		wrapped, err1 := unb64(blob)
		ct, err2 := unb64(rest)
		if err1 != nil || err2 != nil {
			return nil, ErrOpen
		}
		key, err := s.kms.Decrypt(ctx, s.keyID, purpose, wrapped)
		if err != nil {
			if errors.Is(err, ErrOpen) {
				return nil, ErrOpen
			}
			return nil, fmt.Errorf("envelope: decrypt data key: %w", err)
		}
		defer clear(key)
		return open(key, purpose, ct)
	default:
		return nil, ErrOpen
	}
}

func seal(key []byte, purpose string, plaintext []byte) ([]byte, error) {
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plaintext, []byte(purpose)), nil
}

func open(key []byte, purpose string, ct []byte) ([]byte, error) {
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	if len(ct) < aead.NonceSize() {
		return nil, ErrOpen
	}
	pt, err := aead.Open(nil, ct[:aead.NonceSize()], ct[aead.NonceSize():], []byte(purpose))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

func gcm(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	return cipher.NewGCM(block)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
