package crm

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/store/storetest"
	"github.com/matterly/matterly/shared/tenant"
)

// TestBookingsStarting: the query other capabilities use for upcoming
// bookings (messaging's reminders) finds exactly those starting in the
// window, bounds included, whatever zone the bounds are given in.
func TestBookingsStarting(t *testing.T) {
	f := newCRM(t)
	ctx := context.Background()
	c := f.client(t)
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

// TestCounters: the counters other capabilities keep on clients and
// matters (documents, trust entries) land on crm's attributes, and each
// holds only while its client or matter is there (a matter's trust count
// also only while it is the named client's).
func TestCounters(t *testing.T) {
	f := newCRM(t)
	ctx := context.Background()
	c, m := f.clientAndMatter(t)
	db, org, gone := f.svc.DB, f.a.OrgID, storetest.ID()
	// A matter kept after its client's erasure, as the privacy capability
	// marks it.
	_, held := f.clientAndMatter(t)
	mark := db.Update(tenant.PK(org), MatterSK(held.ID), "SET privacyHold = :h", store.Exists(), nil,
		map[string]types.AttributeValue{":h": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"until": store.S("2033-01-01")}}})
	if err := db.UpdateItem(ctx, mark, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		write types.TransactWriteItem
		holds bool
	}{
		{"documents +1", CountDocuments(db, org, m.ID, 1), true},
		{"documents +1 again", CountDocuments(db, org, m.ID, 1), true},
		{"documents -1", CountDocuments(db, org, m.ID, -1), true},
		{"documents of no matter", CountDocuments(db, org, gone, 1), false},
		{"a new document", AddDocument(db, org, m.ID), true},
		{"a new document of no matter", AddDocument(db, org, gone), false},
		{"a new document of a held matter", AddDocument(db, org, held.ID), false},
		{"a signed copy on a held matter", CountDocuments(db, org, held.ID, 1), true},
		{"client trust +2", CountClientTrust(db, org, c.ID, 2), true},
		{"trust of no client", CountClientTrust(db, org, gone, 1), false},
		{"matter trust +3", CountMatterTrust(db, org, m.ID, c.ID, 3), true},
		{"matter trust, other client", CountMatterTrust(db, org, m.ID, gone, 1), false},
		{"trust of no matter", CountMatterTrust(db, org, gone, c.ID, 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.UpdateItem(ctx, tt.write, nil)
			if tt.holds && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.holds && !errors.Is(err, store.ErrConditionFailed) {
				t.Fatalf("got %v, want the condition to fail", err)
			}
		})
	}
	var counts struct {
		Docs  int `dynamodbav:"documentCount"`
		Trust int `dynamodbav:"trustEntries"`
	}
	if err := db.Get(ctx, tenant.PK(org), MatterSK(m.ID), &counts); err != nil || counts.Docs != 2 || counts.Trust != 3 {
		t.Errorf("matter counts = %+v (%v), want 2 documents, 3 trust entries", counts, err)
	}
	counts.Trust = 0
	if err := db.Get(ctx, tenant.PK(org), ClientSK(c.ID), &counts); err != nil || counts.Trust != 2 {
		t.Errorf("client trust entries = %d (%v), want 2", counts.Trust, err)
	}
	if err := db.Get(ctx, tenant.PK(org), MatterSK(gone), &counts); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a failed counter wrote an item: %v", err)
	}
}

// TestClientsWithContact: messaging finds a client by the phone number or
// email (in any case) of its contact entries.
func TestClientsWithContact(t *testing.T) {
	f := newCRM(t)
	ctx := context.Background()
	c, err := f.svc.CreateClient(ctx, f.a, ClientPatch{Kind: refOf(Person), Name: refOf("Client"), Phone: refOf("+15555550100"),
		Email: refOf("Ann@Example.com")})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		channel, address string
		want             []string
	}{
		{ContactPhone, "+15555550100", []string{c.ID}},
		{ContactEmail, "ann@example.com", []string{c.ID}},
		{ContactEmail, "ANN@EXAMPLE.COM", []string{c.ID}},
		{ContactPhone, "+15555550101", []string{}},
		{ContactPhone, "+1555555010", []string{}}, // a prefix of the number is another number
	}
	for _, tt := range tests {
		ids, err := ClientsWithContact(ctx, f.svc.DB, f.a.OrgID, tt.channel, tt.address, 5)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, tt.want) {
			t.Errorf("%s %s: %v, want %v", tt.channel, tt.address, ids, tt.want)
		}
	}
}
