package crm

import (
	"context"
	"testing"
	"time"
)

// TestBookingsStarting: the query other capabilities use for upcoming
// bookings (messaging's reminders) finds exactly those starting in the
// window, bounds included, whatever zone the bounds are given in.
func TestBookingsStarting(t *testing.T) {
	f := newCRM(t)
	ctx := context.Background()
	c, err := f.svc.CreateClient(ctx, f.a, ClientPatch{Kind: refOf(Person), Name: refOf("Client")})
	if err != nil {
		t.Fatal(err)
	}
	starts := []string{"2026-12-10T10:00:00Z", "2026-12-10T12:00:00Z"}
	ids := map[string]string{}
	for _, s := range starts {
		b, err := f.svc.CreateBooking(ctx, f.a, BookingPatch{ClientID: refOf(c.ID), Title: refOf("Intake"), StartsAt: refOf(s),
			EndsAt: refOf(s[:11] + "23:00:00Z")})
		if err != nil {
			t.Fatal(err)
		}
		ids[s] = b.ID
	}
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		from, to time.Time
		want     []string
	}{
		{"both", at("2026-12-10T09:00:00Z"), at("2026-12-10T13:00:00Z"), starts},
		{"bounds inclusive", at(starts[0]), at(starts[1]), starts},
		{"first only", at("2026-12-10T09:00:00Z"), at("2026-12-10T11:59:59Z"), starts[:1]},
		{"none after", at("2026-12-10T12:00:01Z"), at("2026-12-11T12:00:00Z"), nil},
		{"bounds in another zone", at(starts[1]).In(ny), at("2026-12-10T13:00:00Z").In(ny), starts[1:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rows []Booking
			if _, err := f.svc.DB.QueryPage(ctx, BookingsStarting(f.a.OrgID, tt.from, tt.to), &rows); err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(tt.want) {
				t.Fatalf("got %d bookings, want %d", len(rows), len(tt.want))
			}
			for i, s := range tt.want {
				if rows[i].ID != ids[s] {
					t.Errorf("booking %d is %s, want the one starting %s", i, rows[i].ID, s)
				}
			}
		})
	}
}
