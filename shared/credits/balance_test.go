package credits

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/store/storetest"
	"github.com/matterly/matterly/shared/tenant"
)

// The fast tests of the credit rules, on the embedded table (storetest):
// each test has its own org.

var creditsClock = time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)

func newCredits(t *testing.T) (*Service, caller.Caller) {
	t.Helper()
	db := storetest.DB(t)
	org := storetest.NewOrg(t, db)
	return NewService(db, nil, func() time.Time { return creditsClock }), caller.Caller{OrgID: org.ID, UserID: org.OwnerID, Role: "owner"}
}

func balanceOf(t *testing.T, s *Service, orgID string) Balance {
	t.Helper()
	b, err := s.Balance(context.Background(), orgID)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTopUp(t *testing.T) {
	ctx := context.Background()
	s, a := newCredits(t)
	tests := []struct {
		name  string
		key   string
		in    TopUpInput
		field string // the 422's field; "" when it succeeds
		want  int64  // balance after
	}{
		{"zero", "", TopUpInput{Credits: 0}, "credits", 0},
		{"over the maximum", "", TopUpInput{Credits: MaxTopUp + 1}, "credits", 0},
		{"note too long", "", TopUpInput{Credits: 1, Note: string(make([]byte, 201))}, "note", 0},
		{"bad key", "a b", TopUpInput{Credits: 1}, "Idempotency-Key", 0},
		{"top up", "", TopUpInput{Credits: 100, Reason: "  March  "}, "", 100},
		{"with a key", "k1", TopUpInput{Credits: 50}, "", 150},
		{"retried", "k1", TopUpInput{Credits: 50}, "", 150},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := s.TopUp(ctx, a, tt.key, tt.in)
			if tt.field != "" {
				e := fault.As(err)
				if e == nil || e.Kind != fault.Invalid || e.Fields[0].Field != tt.field {
					t.Fatalf("got %v, want 422 naming %s", err, tt.field)
				}
			} else if err != nil || b.Balance != tt.want {
				t.Fatalf("got %+v %v, want balance %d", b, err, tt.want)
			}
			if got := balanceOf(t, s, a.OrgID).Balance; got != tt.want {
				t.Fatalf("balance %d, want %d", got, tt.want)
			}
		})
	}
	_, err := s.TopUp(ctx, a, "k1", TopUpInput{Credits: 51})
	if e := fault.As(err); e == nil || e.Kind != fault.Conflict {
		t.Fatalf("another top-up under a used key: %v", err)
	}
	usage, _, err := s.Usage(ctx, a.OrgID, 10, nil)
	if err != nil || len(usage) != 2 || usage[0].Credits != 50 || usage[1].Note != "March" || usage[1].By != a.UserID {
		t.Fatalf("usage %+v %v", usage, err)
	}
	storetest.AddMember(t, s.DB, a.OrgID, a.UserID, "viewer")
	if _, err := s.TopUp(ctx, a, "", TopUpInput{Credits: 1}); !errors.Is(err, tenant.ErrRoleChanged) {
		t.Fatalf("a demoted owner topped up: %v", err)
	}
}

func TestSpendAndRefund(t *testing.T) {
	ctx := context.Background()
	s, a := newCredits(t)
	if _, err := s.TopUp(ctx, a, "", TopUpInput{Credits: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Spend(ctx, a.OrgID, a.UserID, KindSummary, "doc1", 0); err == nil {
		t.Fatal("a spend of 0 was taken")
	}
	_, err := s.Spend(ctx, a.OrgID, a.UserID, KindSummary, "doc1", 11)
	if !fault.Is(err, fault.PaymentRequired) {
		t.Fatalf("overdraw: %v, want 402", err)
	}
	u, err := s.Spend(ctx, a.OrgID, a.UserID, KindSummary, "doc1", 4)
	if err != nil || u.Credits != -4 {
		t.Fatalf("spend: %+v %v", u, err)
	}
	if b := balanceOf(t, s, a.OrgID); b.Balance != 6 || b.MonthSpent != 4 {
		t.Fatalf("after the spend: %+v", b)
	}

	// An extra item that fails (the work was already paid for) wins over
	// the balance, and nothing is taken.
	paid := storetest.ID()
	storetest.Put(t, s.DB, store.Keys{PK: tenant.PK(a.OrgID), SK: "WORK#" + paid})
	w, err := s.DB.Put(store.Keys{PK: tenant.PK(a.OrgID), SK: "WORK#" + paid}, store.NotExists())
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.SpendAs(ctx, storetest.ID(), a.OrgID, a.UserID, KindDraft, paid, 100, w)
	if !store.Failed(err, 3) {
		t.Fatalf("failed extra: %v, want its cancellation", err)
	}
	if b := balanceOf(t, s, a.OrgID); b.Balance != 6 {
		t.Fatalf("balance %d after a refused spend", b.Balance)
	}

	for i := range 2 {
		if err := s.Refund(ctx, a.OrgID, u.ID, "the model failed"); err != nil {
			t.Fatalf("refund %d: %v", i, err)
		}
		if b := balanceOf(t, s, a.OrgID); b.Balance != 10 || b.MonthSpent != 0 {
			t.Fatalf("after refund %d: %+v", i, b)
		}
	}
	extra, err := s.DB.Put(store.Keys{PK: tenant.PK(a.OrgID), SK: "FAILED#" + u.ID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Refund(ctx, a.OrgID, u.ID, "again", extra); !errors.Is(err, ErrRefunded) {
		t.Fatalf("refund with extras of a refunded usage: %v", err)
	}
	usage, _, err := s.Usage(ctx, a.OrgID, 10, nil)
	if err != nil || len(usage) != 3 {
		t.Fatalf("usage %+v %v: want the top-up, the spend and one refund", usage, err)
	}
	var refund Usage
	for _, x := range usage {
		if x.Kind == KindRefund {
			refund = x
		}
	}
	if err := s.Refund(ctx, a.OrgID, refund.ID, "refund of a refund"); err == nil {
		t.Fatal("a refund was refunded")
	}
	if err := s.Refund(ctx, a.OrgID, storetest.ID(), "no such usage"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refund of no usage: %v", err)
	}
}
