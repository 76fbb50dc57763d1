package envelope

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/matterly/matterly/shared/config"
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

// fakeKMS speaks KMS's JSON protocol and checks what the sealer sends: the
// key, AES_256 and the purpose as encryption context, on every call.
type fakeKMS struct {
	t    *testing.T
	mu   sync.Mutex
	keys map[string][]byte // ciphertext blob -> data key
	ctx  map[string]string // ciphertext blob -> purpose
}

func (f *fakeKMS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in struct {
		KeyId             string
		KeySpec           string
		CiphertextBlob    []byte
		EncryptionContext map[string]string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.t.Errorf("body: %v", err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		f.t.Errorf("Content-Type %q", ct)
	}
	if in.KeyId != "arn:aws:kms:us-east-1:1:key/k" {
		f.t.Errorf("KeyId %q", in.KeyId)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch r.Header.Get("X-Amz-Target") {
	case "TrentService.GenerateDataKey":
		if in.KeySpec != "AES_256" {
			f.t.Errorf("KeySpec %q", in.KeySpec)
		}
		key, blob := make([]byte, 32), make([]byte, 48)
		rand.Read(key)
		rand.Read(blob)
		f.keys[string(blob)], f.ctx[string(blob)] = key, in.EncryptionContext["purpose"]
		json.NewEncoder(w).Encode(map[string]any{"CiphertextBlob": blob, "Plaintext": key, "KeyId": in.KeyId})
	case "TrentService.Decrypt":
		key, ok := f.keys[string(in.CiphertextBlob)]
		if !ok || f.ctx[string(in.CiphertextBlob)] != in.EncryptionContext["purpose"] {
			w.WriteHeader(400)
			w.Write([]byte(`{"__type":"InvalidCiphertextException","message":"bad"}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Plaintext": key, "KeyId": in.KeyId})
	default:
		f.t.Errorf("unexpected call %q", r.Header.Get("X-Amz-Target"))
		w.WriteHeader(400)
	}
}

func TestKMSSealOpen(t *testing.T) {
	f := &fakeKMS{t: t, keys: map[string][]byte{}, ctx: map[string]string{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s := NewKMS(kms.NewFromConfig(config.LocalAWS(srv.URL)), "arn:aws:kms:us-east-1:1:key/k")
	ctx := context.Background()
	sealed, err := s.Seal(ctx, "msgraph:u1", []byte("refresh-token"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sealed, "k1.") || strings.Count(sealed, ".") != 2 {
		t.Fatalf("sealed = %q", sealed)
	}
	pt, err := s.Open(ctx, "msgraph:u1", sealed)
	if err != nil || string(pt) != "refresh-token" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	// KMS refuses the data key under another purpose; a swapped body fails GCM.
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
