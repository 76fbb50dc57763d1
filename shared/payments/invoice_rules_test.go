package payments

import (
	"context"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
)

// TestInvoiceDueDate: an invoice's due date is a date money moves on, so it
// gets the trust dates' rule (check.MoneyDate): not year 0000, not before
// 1900, not after the end of next year, by the service's clock.
func TestInvoiceDueDate(t *testing.T) {
	now := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	// Refused before any read: the service has no table.
	svc := &Service{Now: func() time.Time { return now }}
	for _, tt := range []struct {
		due string
		ok  bool
	}{
		{"2026-12-31", true},
		{"2027-12-31", true},
		{"1900-01-01", true},
		{"0000-01-01", false},
		{"1899-12-31", false},
		{"2028-01-01", false},
		{"2026-02-29", false},
	} {
		t.Run(tt.due, func(t *testing.T) {
			in := InvoiceInput{ClientID: ulid.Make().String(), Currency: "usd", DueDate: tt.due,
				LineItems: []LineItem{{Description: "Consultation", Quantity: 1, UnitAmount: 10_000}}}
			if _, err := in.normalize(now); (err == nil) != tt.ok {
				t.Fatalf("normalize: %v, want ok %v", err, tt.ok)
			}
			if tt.ok {
				return
			}
			_, _, err := svc.CreateInvoice(context.Background(), caller.Caller{OrgID: ulid.Make().String()}, "", in)
			e := fault.As(err)
			if e == nil || e.Kind != fault.Invalid || len(e.Fields) != 1 || e.Fields[0].Field != "dueDate" {
				t.Fatalf("got %v, want 422 naming dueDate", err)
			}
		})
	}
}
