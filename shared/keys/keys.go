// Package keys loads the root secrets and derives the keys the functions
// use: HMAC keys that seal pagination cursors and signed links (from the
// signing secret, read by every function) and the Ed25519 key that signs
// access tokens (from the token secret, read only by the functions that
// issue tokens). In AWS the secrets live in Secrets Manager; locally one root
// is generated once under the dev data directory.
package keys

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Set holds the HMAC keys every function uses.
type Set struct {
	CursorKey []byte // HMAC for cursors
	LinkKey   []byte // HMAC for signed links (unsubscribe, ...)
}

// Derive builds a Set from a root secret of at least 32 bytes. Each key is
// HMAC-SHA256(root, label), so keys for different uses never coincide.
func Derive(root []byte) (Set, error) {
	if len(root) < 32 {
		return Set{}, fmt.Errorf("signing secret: %d bytes, want at least 32", len(root))
	}
	return Set{CursorKey: derive(root, "cursor-hmac"), LinkKey: derive(root, "link-hmac")}, nil
}

func derive(root []byte, label string) []byte {
	m := hmac.New(sha256.New, root)
	m.Write([]byte("matterly/" + label))
	return m.Sum(nil)
}

// TokenKey derives the Ed25519 key that signs access tokens from the token
// secret's root. Only the functions that issue tokens (and the deploy-time
// step that publishes the public key) can read that secret; every other
// function verifies with the public key alone.
func TokenKey(root []byte) (ed25519.PrivateKey, error) {
	seed, err := TokenSeed(root)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// TokenSeed is TokenKey's seed, derived without the key: expanding it
// (ed25519.NewKeyFromSeed) is a scalar multiplication whose first one in a
// process also builds the curve's base point tables, about 2 ms.
func TokenSeed(root []byte) ([]byte, error) {
	if len(root) < 32 {
		return nil, fmt.Errorf("token secret: %d bytes, want at least 32", len(root))
	}
	return derive(root, "access-token-ed25519"), nil
}

// SealKey derives the AES-256 key that stands in for KMS locally when
// secrets are sealed at rest (shared/envelope): in AWS those use KMS data
// keys and this key is never derived.
func SealKey(root []byte) []byte { return derive(root, "envelope-aes-256") }

// EncodePublicKey renders a token public key for configuration (base64).
func EncodePublicKey(pub ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(pub) }

// ParsePublicKey reads a key written by EncodePublicKey.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("token public key: want %d bytes of base64", ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// SecretGetter reads a secret string, as Secrets Manager's GetSecretValue does.
type SecretGetter interface {
	SecretString(ctx context.Context, id string) (string, error)
}

// ReadSecret reads a root secret from the secret store.
func ReadSecret(ctx context.Context, sm SecretGetter, id string) ([]byte, error) {
	s, err := sm.SecretString(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	return []byte(strings.TrimSpace(s)), nil
}

// DevRoot loads the local root secret from dir/signing.key, creating it
// with 32 random bytes on first use (mode 0600), so local tokens survive a
// restart. Locally one root serves as both the signing and the token secret.
func DevRoot(dir string) ([]byte, error) {
	path := filepath.Join(dir, "signing.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createDevKey(dir, path); err != nil {
			return nil, err
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read dev signing key: %w", err)
	}
	return []byte(strings.TrimSpace(string(b))), nil
}

// createDevKey writes a new key to a temporary file and links it into place:
// the link fails if another process got there first, and nobody ever reads
// a half-written key.
func createDevKey(dir, path string) error {
	root := make([]byte, 32)
	if _, err := rand.Read(root); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("dev data dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "signing.key.*")
	if err != nil {
		return fmt.Errorf("create dev signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(hex.EncodeToString(root))
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("write dev signing key: %w", werr)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("install dev signing key: %w", err)
	}
	return nil
}
