package idempotency

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/store/storetest"
)

func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		key string
		ok  bool
	}{
		{"", true},
		{"a", true},
		{"order-42:retry_1.x", true},
		{strings.Repeat("k", 255), true},
		{strings.Repeat("k", 256), false},
		{"has space", false},
		{"slash/", false},
		{"at@", false},
		{"A-Z_0.9:", true},
		{"ünï", false},
	} {
		err := Check(tt.key)
		if (err == nil) != tt.ok {
			t.Errorf("Check(%q) = %v, want ok %v", tt.key, err, tt.ok)
		}
		if err != nil && (!fault.Is(err, fault.Invalid) || fault.As(err).Fields[0].Field != Header) {
			t.Errorf("Check(%q) = %v, want 422 naming %s", tt.key, err, Header)
		}
	}
}

func TestFingerprint(t *testing.T) {
	type in struct {
		A string
		N int
	}
	a, b := in{"x", 1}, in{"x", 1}
	if Fingerprint(a) != Fingerprint(b) {
		t.Fatal("one request, two fingerprints")
	}
	if Fingerprint(in{"x", 1}) == Fingerprint(in{"x", 2}) {
		t.Fatal("two requests, one fingerprint")
	}
}

func TestRecord(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	r := Record{Hash: "h", ExpiresAt: now.Add(time.Second).Unix()}
	if !r.Live(now) || r.Live(now.Add(time.Second)) {
		t.Fatal("Live is wrong around ExpiresAt")
	}
	if r.Matches("h") != nil {
		t.Fatal("the same request is refused")
	}
	if e := fault.As(r.Matches("other")); e == nil || e.Kind != fault.Conflict || e.Rule != Rule {
		t.Fatalf("a different request: %v", e)
	}
}

// TestClaimAndReplay runs claims in real transactions: a key is claimed
// once while live, a retry finds what the first request made, another
// request under the key is refused, and an expired claim can be taken.
func TestClaimAndReplay(t *testing.T) {
	db := storetest.DB(t)
	org := storetest.NewOrg(t, db)
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	claim := func(fp, ref string, at time.Time) error {
		w, err := Claim(db, org.ID, "test", "key-1", fp, ref, at)
		if err != nil {
			t.Fatal(err)
		}
		return db.Transact(ctx, w)
	}
	steps := []struct {
		name    string
		fp, ref string
		at      time.Time
		claimed bool // the claim's condition fails
	}{
		{"first claim", "fp1", "made-1", now, false},
		{"the same key an hour later", "fp1", "made-2", now.Add(time.Hour), true},
		{"another request a day less a second later", "fp2", "made-3", now.Add(TTL - time.Second), true},
		{"after it expired", "fp2", "made-4", now.Add(TTL + time.Second), false},
	}
	for _, st := range steps {
		err := claim(st.fp, st.ref, st.at)
		var tce *store.TxCanceledError
		if got := errors.As(err, &tce) && tce.Failed(0); got != st.claimed || (!st.claimed && err != nil) {
			t.Fatalf("%s: %v", st.name, err)
		}
	}
	ref, err := Replay(ctx, db, org.ID, "test", "key-1", "fp2")
	if err != nil || ref != "made-4" {
		t.Fatalf("replay: %q %v", ref, err)
	}
	if _, err := Replay(ctx, db, org.ID, "test", "key-1", "fp1"); fault.As(err) == nil || fault.As(err).Rule != Rule {
		t.Fatalf("replay of another request: %v", err)
	}
	if _, err := Replay(ctx, db, org.ID, "test", "never-used", "fp1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("replay of an unused key: %v", err)
	}
	if SK("test", "key-1") != "IDEM#test#key-1" {
		t.Fatal("the key layout changed: live claims would be lost")
	}
}
