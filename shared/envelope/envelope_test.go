package envelope

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestLocalSealOpen(t *testing.T) {
	s, err := NewLocal(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewLocal(bytes.Repeat([]byte{8}, 32))
	ctx := context.Background()
	sealed, err := s.Seal(ctx, "totp:u1", []byte("JBSWY3DPEHPK3PXP"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "JBSWY3DP") {
		t.Fatal("sealed value shows the plaintext")
	}
	again, _ := s.Seal(ctx, "totp:u1", []byte("JBSWY3DPEHPK3PXP"))
	if again == sealed {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	pt, err := s.Open(ctx, "totp:u1", sealed)
	if err != nil || string(pt) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	tampered := sealed[:len(sealed)-2] + flip(sealed[len(sealed)-2:])
	for name, tc := range map[string]struct {
		s       *Sealer
		purpose string
		value   string
	}{
		"other purpose":  {s, "totp:u2", sealed},
		"other key":      {other, "totp:u1", sealed},
		"tampered":       {s, "totp:u1", tampered},
		"not base64":     {s, "totp:u1", "l1.!!!"},
		"too short":      {s, "totp:u1", "l1.AAAA"},
		"no prefix":      {s, "totp:u1", "JBSWY3DPEHPK3PXP"},
		"a KMS value":    {s, "totp:u1", "k1.AAAA.AAAA"},
		"empty":          {s, "totp:u1", ""},
		"prefix only":    {s, "totp:u1", "l1."},
		"truncated body": {s, "totp:u1", sealed[:10]},
	} {
		if _, err := tc.s.Open(ctx, tc.purpose, tc.value); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: Open err = %v, want ErrOpen", name, err)
		}
	}
	if _, err := NewLocal([]byte("short")); err == nil {
		t.Error("NewLocal accepted a short key")
	}
}

func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// memKMS is KMS in memory: a data key opens only under the purpose it was
// wrapped for.
type memKMS struct {
	keys map[string][]byte // wrapped -> data key
	ctx  map[string]string // wrapped -> purpose
}

func (m *memKMS) GenerateDataKey(_ context.Context, keyID, purpose string) ([]byte, []byte, error) {
	key, wrapped := make([]byte, 32), make([]byte, 48)
	rand.Read(key)
	rand.Read(wrapped)
	m.keys[string(wrapped)], m.ctx[string(wrapped)] = key, keyID+"/"+purpose
	return bytes.Clone(key), wrapped, nil
}

func (m *memKMS) Decrypt(_ context.Context, keyID, purpose string, wrapped []byte) ([]byte, error) {
	key, ok := m.keys[string(wrapped)]
	if !ok || m.ctx[string(wrapped)] != keyID+"/"+purpose {
		return nil, ErrOpen
	}
	return bytes.Clone(key), nil
}

func TestKMSSealOpen(t *testing.T) {
	s := NewKMS(&memKMS{keys: map[string][]byte{}, ctx: map[string]string{}}, "arn:aws:kms:us-east-1:1:key/k")
	ctx := context.Background()
	sealed, err := s.Seal(ctx, "msgraph:u1", []byte("refresh-token"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sealed, "k1.") || strings.Count(sealed, ".") != 2 {
		t.Fatalf("sealed = %q", sealed)
	}
	if pt, err := s.Open(ctx, "msgraph:u1", sealed); err != nil || string(pt) != "refresh-token" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	if _, err := s.Open(ctx, "msgraph:u2", sealed); !errors.Is(err, ErrOpen) {
		t.Errorf("other purpose: %v", err)
	}
	other, _ := s.Seal(ctx, "msgraph:u1", []byte("another"))
	blob := strings.Split(sealed, ".")[1]
	body := strings.Split(other, ".")[2]
	if _, err := s.Open(ctx, "msgraph:u1", "k1."+blob+"."+body); !errors.Is(err, ErrOpen) {
		t.Errorf("swapped body: %v", err)
	}
	if _, err := s.Open(ctx, "msgraph:u1", "l1."+base64.RawURLEncoding.EncodeToString([]byte("x"))); !errors.Is(err, ErrOpen) {
		t.Errorf("local value under KMS: %v", err)
	}
}
