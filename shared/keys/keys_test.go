package keys

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestDerive(t *testing.T) {
	a, err := Derive(bytes.Repeat([]byte("a"), 32))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Derive(bytes.Repeat([]byte("a"), 32))
	other, _ := Derive(bytes.Repeat([]byte("b"), 32))
	tok, _ := TokenKey(bytes.Repeat([]byte("a"), 32))
	tokAgain, _ := TokenKey(bytes.Repeat([]byte("a"), 32))
	if !bytes.Equal(a.CursorKey, again.CursorKey) || !bytes.Equal(tok, tokAgain) {
		t.Error("derivation is not deterministic")
	}
	if bytes.Equal(a.CursorKey, other.CursorKey) {
		t.Error("different roots gave equal keys")
	}
	if bytes.Equal(a.CursorKey, a.LinkKey) || bytes.Equal(a.CursorKey, tok.Seed()) {
		t.Error("keys for different uses coincide")
	}
	pub, err := ParsePublicKey(EncodePublicKey(tok.Public().(ed25519.PublicKey)))
	if err != nil || !pub.Equal(tok.Public()) {
		t.Errorf("public key round trip: %v", err)
	}
	if _, err := ParsePublicKey("c2hvcnQ="); err == nil {
		t.Error("accepted a short public key")
	}
	if _, err := Derive([]byte("short")); err == nil {
		t.Error("accepted a short root secret")
	}
}

func TestFromDevFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev")
	first, err := DevRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "signing.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	second, err := DevRoot(dir)
	if err != nil || !bytes.Equal(first, second) {
		t.Errorf("the dev key changed across restarts (%v)", err)
	}
}

type fakeSecrets struct {
	value string
	err   error
	asked string
}

func (f *fakeSecrets) SecretString(_ context.Context, id string) (string, error) {
	f.asked = id
	return f.value, f.err
}

func TestReadSecret(t *testing.T) {
	f := &fakeSecrets{value: "  " + string(bytes.Repeat([]byte("z"), 64)) + "\n"}
	got, err := ReadSecret(context.Background(), f, "arn:signing")
	if err != nil || f.asked != "arn:signing" {
		t.Fatalf("ReadSecret = %v, asked %q", err, f.asked)
	}
	if !bytes.Equal(got, bytes.Repeat([]byte("z"), 64)) {
		t.Error("surrounding whitespace was kept")
	}
	if _, err := ReadSecret(context.Background(), &fakeSecrets{err: errors.New("denied")}, "x"); err == nil {
		t.Error("a failed secret read was not an error")
	}
}

// TestFromDevFileRace: processes starting together agree on one key.
func TestFromDevFileRace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev")
	keys := make(chan []byte, 8)
	for i := 0; i < 8; i++ {
		go func() {
			root, err := DevRoot(dir)
			if err != nil {
				t.Error(err)
			}
			keys <- root
		}()
	}
	first := <-keys
	for i := 1; i < 8; i++ {
		if k := <-keys; !bytes.Equal(k, first) {
			t.Fatal("two starts derived different keys")
		}
	}
}
