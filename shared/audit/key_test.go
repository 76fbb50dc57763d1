package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/envelope"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/store/storetest"
	"github.com/matterly/matterly/shared/tenant"
)

// rewrite is a table writer's forgery: entry from's IP is changed and it
// and every later entry rehashed with hash (and given version), the head
// moved to the new last hash, so that every link holds.
func rewrite(t *testing.T, db *store.DB, org string, from, last int64, version int, hash func(e Entry, prev string) string) {
	t.Helper()
	prev := ""
	if from > 1 {
		prev = rowAt(t, db, org, from-1).Hash
	}
	for seq := from; seq <= last; seq++ {
		r := rowAt(t, db, org, seq)
		if seq == from {
			r.IP = "203.0.113.66"
		}
		r.Version, r.PrevHash = version, prev
		r.Hash = hash(r.Entry, prev)
		putRow(t, db, r)
		prev = r.Hash
	}
	if err := db.PutItem(context.Background(), headRow{PK: tenant.PK(org), SK: headSK, Type: "auditHead", Seq: last, Hash: prev}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyDetectsRehashedChain: entries are keyed (V2) from the first;
// one who can write the table but not open the chain key rewrites an entry
// and recomputes every later hash, each way they can, and verify names
// the rewritten entry (or, with the key item swapped, the first keyed
// one); untouched, the same chain verifies.
func TestVerifyDetectsRehashedChain(t *testing.T) {
	db := storetest.DB(t)
	ctx := context.Background()
	otherKey := []byte("an attacker's own 32-byte key!!!")
	tests := []struct {
		name       string
		tamper     func(t *testing.T, org string)
		wantBroken int64
		reason     string
	}{
		{"untouched", func(*testing.T, string) {}, 0, ""},
		{"rehashed unkeyed, version 1", func(t *testing.T, org string) {
			rewrite(t, db, org, 3, 5, V1, func(e Entry, prev string) string { return Hash(org, e, prev) })
		}, 3, "unkeyed"},
		{"rehashed unkeyed, version 2 kept", func(t *testing.T, org string) {
			rewrite(t, db, org, 3, 5, V2, func(e Entry, prev string) string { return Hash(org, e, prev) })
		}, 3, "hash"},
		{"rehashed under another key", func(t *testing.T, org string) {
			rewrite(t, db, org, 3, 5, V2, func(e Entry, prev string) string { return MAC(otherKey, org, e, prev) })
		}, 3, "hash"},
		{"whole chain rehashed unkeyed, key item removed", func(t *testing.T, org string) {
			if err := db.Transact(ctx, db.Delete(tenant.PK(org), keySK, nil)); err != nil {
				t.Fatal(err)
			}
			rewrite(t, db, org, 1, 5, V2, func(e Entry, prev string) string { return Hash(org, e, prev) })
		}, 1, "missing"},
		{"key item replaced by one sealed elsewhere", func(t *testing.T, org string) {
			other, _ := envelope.NewLocal([]byte("fedcba9876543210fedcba9876543210"))
			row, b, err := NewKeyring(other).fresh(ctx, org, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.PutItem(ctx, row, nil); err != nil {
				t.Fatal(err)
			}
			rewrite(t, db, org, 1, 5, V2, func(e Entry, prev string) string { return MAC(b.Key, org, e, prev) })
		}, 1, "replaced"},
		{"key item moved from another org", func(t *testing.T, org string) {
			donor, _ := chain(t, db, 1)
			var row keyRow
			if err := db.Get(ctx, tenant.PK(donor), keySK, &row); err != nil {
				t.Fatal(err)
			}
			row.PK = tenant.PK(org)
			if err := db.PutItem(ctx, row, nil); err != nil {
				t.Fatal(err)
			}
		}, 1, "replaced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org, _ := chain(t, db, 5)
			if r := rowAt(t, db, org, 1); r.Version != V2 {
				t.Fatalf("first entry version = %d, want keyed", r.Version)
			}
			tt.tamper(t, org)
			// A fresh keyring: nothing opened by the appends is reused.
			v, err := keyed(t, db).Verify(ctx, org)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantBroken == 0 {
				if !v.Valid || v.Entries != 5 || v.KeyedFrom != 1 {
					t.Fatalf("verify = %+v, want 5 valid entries keyed from 1", v)
				}
				return
			}
			if v.Valid || v.FirstBroken == nil || v.FirstBroken.Seq != tt.wantBroken || !strings.Contains(v.FirstBroken.Reason, tt.reason) {
				t.Fatalf("verify = %+v (broken %+v), want broken at %d about %q", v, v.FirstBroken, tt.wantBroken, tt.reason)
			}
		})
	}
}

// TestLegacyChainGetsKeyed: a chain of V1 entries (appended before chain
// keys) stays verifiable; the next append makes the key, which keys every
// entry from there on; a rewrite of the V1 part, rehashed, breaks the link
// into the first keyed entry.
func TestLegacyChainGetsKeyed(t *testing.T) {
	db := storetest.DB(t)
	ctx := context.Background()
	org := storetest.ID()
	prev := ""
	for i := range 2 { // as the unkeyed code appended them
		e := sample(i)
		e.Seq, e.PrevHash = int64(i+1), prev
		e.Hash = Hash(org, e, prev)
		putRow(t, db, entryRow{Keys: store.Keys{PK: tenant.PK(org), SK: entrySK(e.Seq), Type: "audit"}, Entry: e})
		prev = e.Hash
	}
	if err := db.PutItem(ctx, headRow{PK: tenant.PK(org), SK: headSK, Type: "auditHead", Seq: 2, Hash: prev}, nil); err != nil {
		t.Fatal(err)
	}
	c := keyed(t, db)
	if v, err := c.Verify(ctx, org); err != nil || !v.Valid || v.KeyedFrom != 0 {
		t.Fatalf("legacy verify = %+v, %v", v, err)
	}
	for i := 2; i < 4; i++ {
		if ok, err := c.Append(ctx, org, sample(i)); err != nil || !ok {
			t.Fatalf("append: %v %v", ok, err)
		}
	}
	v, err := keyed(t, db).Verify(ctx, org)
	if err != nil || !v.Valid || v.Entries != 4 || v.KeyedFrom != 3 {
		t.Fatalf("verify after keying = %+v, %v", v, err)
	}
	got, _, err := List(ctx, db, org, Filter{}, 10, nil)
	if err != nil || got[0].Version != V2 || got[3].Version != V1 {
		t.Fatalf("listed versions: %+v, %v", got, err)
	}
	// The V1 part rewritten and rehashed: entry 3's keyed link to 2 fails.
	rewrite(t, db, org, 1, 2, V1, func(e Entry, prev string) string { return Hash(org, e, prev) })
	r3 := rowAt(t, db, org, 3)
	r3.PrevHash = rowAt(t, db, org, 2).Hash
	putRow(t, db, r3)
	head := headRow{PK: tenant.PK(org), SK: headSK, Type: "auditHead", Seq: 4, Hash: rowAt(t, db, org, 4).Hash}
	if err := db.PutItem(ctx, head, nil); err != nil {
		t.Fatal(err)
	}
	if v, _ := keyed(t, db).Verify(ctx, org); v.Valid || v.FirstBroken == nil || v.FirstBroken.Seq != 3 {
		t.Fatalf("verify after rewriting the V1 part = %+v (%+v), want broken at 3", v, v.FirstBroken)
	}
	// Without the sealer, a keyed chain cannot be verified (or appended).
	if _, err := (Chain{DB: db}).Verify(ctx, org); err == nil {
		t.Error("verify of a keyed chain without the keyring succeeded")
	}
	if _, err := (Chain{DB: db}).Append(ctx, org, sample(9)); err == nil {
		t.Error("append without the keyring succeeded")
	}
}

// TestVerifyWithoutKeyIsUnavailable: a keyed chain verified by a function
// deployed without the audit key is a 503 saying what to set, not a 500.
func TestVerifyWithoutKeyIsUnavailable(t *testing.T) {
	tests := []struct {
		err  error
		kind fault.Kind
	}{
		{fmt.Errorf("open: %w", ErrNoKeyring), fault.Unavailable},
		{errors.New("dynamodb down"), ""},
	}
	for _, tt := range tests {
		got := verifyProblem(tt.err)
		fe := fault.As(got)
		switch {
		case tt.kind == "" && (fe != nil || got != tt.err):
			t.Errorf("%v became %v", tt.err, got)
		case tt.kind != "" && (fe == nil || fe.Kind != tt.kind || !errors.Is(got, ErrNoKeyring) || !strings.Contains(fe.Message, "AUDIT_KEY_ID")):
			t.Errorf("%v became %v, want a 503 naming AUDIT_KEY_ID", tt.err, got)
		}
	}
}
