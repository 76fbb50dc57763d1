// Package keys loads the one root signing secret and derives the keys the
// functions use from it: the Ed25519 key that signs access tokens and the
// HMAC key that seals pagination cursors and signed links. In AWS the secret
// lives in Secrets Manager; locally it is generated once under the dev data
// directory.
package keys

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Set holds the derived keys.
type Set struct {
	TokenKey  ed25519.PrivateKey // signs access tokens
	CursorKey []byte             // HMAC for cursors
	LinkKey   []byte             // HMAC for signed links (unsubscribe, ...)
}

// Derive builds a Set from a root secret of at least 32 bytes. Each key is
// HMAC-SHA256(root, label), so keys for different uses never coincide.
func Derive(root []byte) (Set, error) {
	if len(root) < 32 {
		return Set{}, fmt.Errorf("signing secret: %d bytes, want at least 32", len(root))
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, root)
		m.Write([]byte("matterly/" + label))
		return m.Sum(nil)
	}
	return Set{
		TokenKey:  ed25519.NewKeyFromSeed(derive("access-token-ed25519")),
		CursorKey: derive("cursor-hmac"),
		LinkKey:   derive("link-hmac"),
	}, nil
}

// SecretGetter reads a secret string, as Secrets Manager's GetSecretValue does.
type SecretGetter interface {
	SecretString(ctx context.Context, id string) (string, error)
}

// FromSecret loads the root secret from the secret store.
func FromSecret(ctx context.Context, sm SecretGetter, id string) (Set, error) {
	s, err := sm.SecretString(ctx, id)
	if err != nil {
		return Set{}, fmt.Errorf("read signing secret: %w", err)
	}
	return Derive([]byte(strings.TrimSpace(s)))
}

// FromDevFile loads the root secret from dir/signing.key, creating it with 32
// random bytes on first use (mode 0600), so local tokens survive a restart.
func FromDevFile(dir string) (Set, error) {
	path := filepath.Join(dir, "signing.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createDevKey(dir, path); err != nil {
			return Set{}, err
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return Set{}, fmt.Errorf("read dev signing key: %w", err)
	}
	return Derive([]byte(strings.TrimSpace(string(b))))
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
