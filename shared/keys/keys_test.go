package keys

import (
	"bytes"
	"context"
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
	if !bytes.Equal(a.TokenKey, again.TokenKey) || !bytes.Equal(a.CursorKey, again.CursorKey) {
		t.Error("derivation is not deterministic")
	}
	if bytes.Equal(a.TokenKey, other.TokenKey) || bytes.Equal(a.CursorKey, other.CursorKey) {
		t.Error("different roots gave equal keys")
	}
	if bytes.Equal(a.CursorKey, a.LinkKey) || bytes.Equal(a.CursorKey, a.TokenKey.Seed()) {
		t.Error("keys for different uses coincide")
	}
	if _, err := Derive([]byte("short")); err == nil {
		t.Error("accepted a short root secret")
	}
}

func TestFromDevFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev")
	first, err := FromDevFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "signing.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	second, err := FromDevFile(dir)
	if err != nil || !bytes.Equal(first.TokenKey, second.TokenKey) {
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

func TestFromSecret(t *testing.T) {
	f := &fakeSecrets{value: "  " + string(bytes.Repeat([]byte("z"), 64)) + "\n"}
	got, err := FromSecret(context.Background(), f, "arn:signing")
	if err != nil || f.asked != "arn:signing" {
		t.Fatalf("FromSecret = %v, asked %q", err, f.asked)
	}
	want, _ := Derive(bytes.Repeat([]byte("z"), 64))
	if !bytes.Equal(got.TokenKey, want.TokenKey) {
		t.Error("surrounding whitespace changed the derived key")
	}
	if _, err := FromSecret(context.Background(), &fakeSecrets{err: errors.New("denied")}, "x"); err == nil {
		t.Error("a failed secret read was not an error")
	}
}

// TestFromDevFileRace: processes starting together agree on one key.
func TestFromDevFileRace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev")
	keys := make(chan []byte, 8)
	for i := 0; i < 8; i++ {
		go func() {
			s, err := FromDevFile(dir)
			if err != nil {
				t.Error(err)
			}
			keys <- s.CursorKey
		}()
	}
	first := <-keys
	for i := 1; i < 8; i++ {
		if k := <-keys; !bytes.Equal(k, first) {
			t.Fatal("two starts derived different keys")
		}
	}
}
