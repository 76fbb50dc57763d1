package awskms

import (
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
	"github.com/matterly/matterly/shared/envelope"
)

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
	s := envelope.NewKMS(Keys{kms.NewFromConfig(config.LocalAWS(srv.URL))}, "arn:aws:kms:us-east-1:1:key/k")
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
	if _, err := s.Open(ctx, "msgraph:u2", sealed); !errors.Is(err, envelope.ErrOpen) {
		t.Errorf("other purpose: %v", err)
	}
	other, _ := s.Seal(ctx, "msgraph:u1", []byte("another"))
	blob := strings.Split(sealed, ".")[1]
	body := strings.Split(other, ".")[2]
	if _, err := s.Open(ctx, "msgraph:u1", "k1."+blob+"."+body); !errors.Is(err, envelope.ErrOpen) {
		t.Errorf("swapped body: %v", err)
	}
	if _, err := s.Open(ctx, "msgraph:u1", "l1."+base64.RawURLEncoding.EncodeToString([]byte("x"))); !errors.Is(err, envelope.ErrOpen) {
		t.Errorf("local value under KMS: %v", err)
	}
}
