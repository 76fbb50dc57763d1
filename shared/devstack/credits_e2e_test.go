package devstack

import (
	"context"
	"fmt"
	"testing"

	"github.com/matterly/matterly/shared/credits"
	"github.com/matterly/matterly/shared/fault"
)

// TestCreditsNeverOverdraw: an owner tops up 10 credits; 50 spends of one
// credit at once charge exactly 10 and the other 40 get 402; a failed
// job's refund gives its credit back once.
func TestCreditsNeverOverdraw(t *testing.T) {
	owner := signup(t)
	billing := owner.member("billing")
	if r := billing.do("POST", "/v1/billing/credits/topup", map[string]any{"credits": 10}); r.Status != 403 {
		t.Errorf("billing top-up = %d", r.Status)
	}
	if r := owner.do("POST", "/v1/billing/credits/topup", map[string]any{"credits": 0}); r.Status != 422 {
		t.Errorf("top-up of 0 = %d", r.Status)
	}
	// Sent twice (a retry after a lost answer): added once.
	for range 2 {
		r := owner.do("POST", "/v1/billing/credits/topup", map[string]any{"credits": 10, "note": "Launch"}, "Idempotency-Key", "topup-1")
		if r.Status != 200 || num(r.Body, "balance") != 10 {
			t.Fatalf("top-up = %d %s", r.Status, r.Raw)
		}
	}
	svc := credits.NewService(stack.Deps.DB, stack.Deps.Log, clock.Now)
	ctx := context.Background()
	results := make(chan error, 50)
	for i := range 50 {
		go func() {
			_, err := svc.Spend(ctx, owner.orgID, owner.userID, credits.KindSummary, fmt.Sprint("summary-", i), 1)
			results <- err
		}()
	}
	var spent, refused int
	var first credits.Usage
	for range 50 {
		switch err := <-results; {
		case err == nil:
			spent++
		case fault.Is(err, fault.PaymentRequired):
			refused++
		default:
			t.Errorf("spend: %v", err)
		}
	}
	if spent != 10 || refused != 40 {
		t.Fatalf("%d spent, %d refused; want 10 and 40", spent, refused)
	}
	d := billing.must(200, "GET", "/v1/billing/credits", nil).Body
	usage, _ := d["usage"].([]any)
	if num(d, "balance") != 0 || num(d, "monthToDate") != 10 || len(usage) != 11 {
		t.Fatalf("dashboard %v", d)
	}
	first.ID = str(usage[0].(map[string]any), "id") // newest: a spend
	for range 2 {
		if err := svc.Refund(ctx, owner.orgID, first.ID, "summary failed"); err != nil {
			t.Fatal(err)
		}
	}
	if d := billing.must(200, "GET", "/v1/billing/credits", nil).Body; num(d, "balance") != 1 || num(d, "monthToDate") != 9 {
		t.Errorf("after refunding one spend twice: %v", d)
	}
	staff := owner.member("staff")
	if r := staff.do("GET", "/v1/billing/credits", nil); r.Status != 403 {
		t.Errorf("staff read credits: %d", r.Status)
	}
}
