package crm

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/store/storetest"
	"github.com/matterly/matterly/shared/tenant"
)

// The fast tests of the CRM patches and their writes, on the embedded
// table (storetest), each test in an org of its own. The flows over HTTP
// stay in shared/devstack.

var crmClock = time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)

func refOf[T any](v T) *T { return &v }

// crmFixture is an org (New York time), its owner as the actor, and a
// staffer member.
type crmFixture struct {
	svc     *Service
	a       caller.Caller
	staffer string
}

func newCRM(t *testing.T) crmFixture {
	t.Helper()
	db := storetest.DB(t)
	org := storetest.NewOrg(t, db, storetest.InZone("America/New_York"))
	para := storetest.ID()
	storetest.AddMember(t, db, org.ID, para, string(access.Staff))
	return crmFixture{svc: NewService(db, nil, func() time.Time { return crmClock }),
		a: caller.Caller{OrgID: org.ID, UserID: org.OwnerID, Role: access.Owner}, staffer: para}
}

// client adds a client to the fixture's org.
func (f crmFixture) client(t *testing.T) Client {
	t.Helper()
	c, err := f.svc.CreateClient(context.Background(), f.a, ClientPatch{Kind: refOf(Person), Name: refOf("Client")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// clientAndMatter adds a client and a matter of it.
func (f crmFixture) clientAndMatter(t *testing.T) (Client, Matter) {
	t.Helper()
	c := f.client(t)
	m, err := f.svc.CreateMatter(context.Background(), f.a, MatterPatch{ClientID: refOf(c.ID), Title: refOf("Matter")})
	if err != nil {
		t.Fatal(err)
	}
	return c, m
}

// wantFieldErr fails unless err is a 422 naming field ("" for no error).
func wantFieldErr(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	e := fault.As(err)
	if e == nil || e.Kind != fault.Invalid {
		t.Fatalf("got %v, want 422 naming %s", err, field)
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return
		}
	}
	t.Fatalf("fields %+v do not name %s", e.Fields, field)
}

func TestClientPatchApply(t *testing.T) {
	tests := []struct {
		name  string
		p     ClientPatch
		field string
		check func(Client) bool
	}{
		{"person", ClientPatch{Kind: refOf(Person), Name: refOf("  Jane Doe ")}, "", func(c Client) bool { return c.Name == "Jane Doe" }},
		{"email lowercased", ClientPatch{Kind: refOf(Company), Name: refOf("Acme"), Email: refOf(" Info@Acme.COM ")}, "", func(c Client) bool { return c.Email == "info@acme.com" }},
		{"tags deduplicated by case", ClientPatch{Kind: refOf(Person), Name: refOf("J"), Tags: refOf([]string{"VIP", " vip ", "Estate"})}, "",
			func(c Client) bool { return len(c.Tags) == 2 && c.Tags[0] == "VIP" }},
		{"empty address clears it", ClientPatch{Kind: refOf(Person), Name: refOf("J"), Address: &Address{City: "  "}}, "", func(c Client) bool { return c.Address == nil }},
		{"free-text address", ClientPatch{Kind: refOf(Person), Name: refOf("J"), Address: &Address{Text: "1 Main St, Springfield"}}, "", nil},
		{"postal address", ClientPatch{Kind: refOf(Person), Name: refOf("J"), Address: &Address{Line1: "1 Main St", City: "Springfield", Country: "us"}}, "",
			func(c Client) bool { return c.Address.Country == "US" }},
		{"unknown kind", ClientPatch{Kind: refOf("robot"), Name: refOf("J")}, "kind", nil},
		{"no name", ClientPatch{Kind: refOf(Person), Name: refOf(" ")}, "name", nil},
		{"bad email", ClientPatch{Kind: refOf(Person), Name: refOf("J"), Email: refOf("jane@")}, "email", nil},
		{"bad phone", ClientPatch{Kind: refOf(Person), Name: refOf("J"), Phone: refOf("555-1234")}, "phone", nil},
		{"address without city", ClientPatch{Kind: refOf(Person), Name: refOf("J"), Address: &Address{Line1: "1 Main St", Country: "US"}}, "address.city", nil},
		{"bad country", ClientPatch{Kind: refOf(Person), Name: refOf("J"), Address: &Address{Line1: "1 Main", City: "X", Country: "USA"}}, "address.country", nil},
		{"too many tags", ClientPatch{Kind: refOf(Person), Name: refOf("J"), Tags: refOf(strings.Split(strings.Repeat("t,", maxTags+1)+"t", ","))}, "tags", nil},
		{"tag too long", ClientPatch{Kind: refOf(Person), Name: refOf("J"), Tags: refOf([]string{strings.Repeat("x", maxTagLen+1)})}, "tags[0]", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Client
			err := tt.p.apply(&c)
			wantFieldErr(t, err, tt.field)
			if tt.check != nil && !tt.check(c) {
				t.Fatalf("applied: %+v", c)
			}
		})
	}
}

func TestClientLifecycle(t *testing.T) {
	f := newCRM(t)
	ctx := context.Background()
	c, err := f.svc.CreateClient(ctx, f.a, ClientPatch{Kind: refOf(Person), Name: refOf("Zoë O’Brien"), Email: refOf("zoe@example.com"), Phone: refOf("+14155550123")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateClient(ctx, f.a, ClientPatch{Kind: refOf(Person)}); fault.As(err) == nil {
		t.Fatal("a client without a name was created")
	}
	for _, q := range []string{"zoe", "O'BRIEN", "o’b"} {
		list, _, err := f.svc.ListClients(ctx, f.a.OrgID, q, 10, nil)
		if err != nil || len(list) != 1 || list[0].ID != c.ID {
			t.Fatalf("search %q: %+v %v", q, list, err)
		}
	}
	up, err := f.svc.UpdateClient(ctx, f.a, c.ID, ClientPatch{Name: refOf("Zoë Smith"), Email: refOf("")})
	if err != nil || up.Name != "Zoë Smith" || up.Email != "" {
		t.Fatalf("update: %+v %v", up, err)
	}
	if same, err := f.svc.UpdateClient(ctx, f.a, c.ID, ClientPatch{Name: refOf("Zoë Smith")}); err != nil || !same.UpdatedAt.Equal(up.UpdatedAt) {
		t.Fatalf("a no-op update wrote: %v", err)
	}
	if list, _, _ := f.svc.ListClients(ctx, f.a.OrgID, "o'brien", 10, nil); len(list) != 0 {
		t.Fatalf("the old name still finds the client: %+v", list)
	}
	if _, err := f.svc.UpdateClient(ctx, f.a, c.ID, ClientPatch{Kind: refOf("robot")}); fault.As(err) == nil {
		t.Fatal("an invalid update was stored")
	}
	if _, err := f.svc.UpdateClient(ctx, f.a, storetest.ID(), ClientPatch{Name: refOf("X")}); !fault.Is(err, fault.NotFound) {
		t.Fatalf("update of no client: %v", err)
	}

	m, err := f.svc.CreateMatter(ctx, f.a, MatterPatch{ClientID: refOf(c.ID), Title: refOf("Estate of Smith")})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.Client(ctx, f.a.OrgID, c.ID); got.OpenMatters != 1 {
		t.Fatalf("open matters %d, want 1", got.OpenMatters)
	}
	if err := f.svc.DeleteClient(ctx, f.a, c.ID); !fault.Is(err, fault.Conflict) {
		t.Fatalf("delete of a client with an open matter: %v", err)
	}
	if _, err := f.svc.UpdateMatter(ctx, f.a, m.ID, MatterPatch{Status: refOf(StatusClosed)}); err != nil {
		t.Fatal(err)
	}
	// A trust entry naming the client keeps it.
	if err := f.svc.DB.UpdateItem(ctx, f.svc.DB.Update(tenant.PK(f.a.OrgID), ClientSK(c.ID), "ADD #t :n", nil,
		map[string]string{"#t": AttrTrustEntries}, map[string]types.AttributeValue{":n": store.N(1)}), nil); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteClient(ctx, f.a, c.ID); !fault.Is(err, fault.Conflict) {
		t.Fatalf("delete of a client with trust records: %v", err)
	}
	other, err := f.svc.CreateClient(ctx, f.a, ClientPatch{Kind: refOf(Company), Name: refOf("Acme Corp")})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteClient(ctx, f.a, other.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Client(ctx, f.a.OrgID, other.ID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("deleted client read back: %v", err)
	}
	if list, _, _ := f.svc.ListClients(ctx, f.a.OrgID, "acme", 10, nil); len(list) != 0 {
		t.Fatalf("a deleted client is still found: %+v", list)
	}
	if err := f.svc.DeleteClient(ctx, f.a, "not-an-id"); !fault.Is(err, fault.NotFound) {
		t.Fatalf("delete of a malformed id: %v", err)
	}
}

func TestMatterPatches(t *testing.T) {
	f := newCRM(t)
	ctx := context.Background()
	c := f.client(t)
	tests := []struct {
		name  string
		p     MatterPatch
		field string
	}{
		{"no client", MatterPatch{Title: refOf("T")}, "clientId"},
		{"unknown client", MatterPatch{ClientID: refOf(storetest.ID()), Title: refOf("T")}, "clientId"},
		{"no title", MatterPatch{ClientID: refOf(c.ID)}, "title"},
		{"bad status", MatterPatch{ClientID: refOf(c.ID), Title: refOf("T"), Status: refOf("won")}, "status"},
		{"bad updates channel", MatterPatch{ClientID: refOf(c.ID), Title: refOf("T"), ClientUpdates: refOf("fax")}, "clientUpdates"},
		{"bad opening date", MatterPatch{ClientID: refOf(c.ID), Title: refOf("T"), OpenedOn: refOf("2026-02-30")}, "openedOn"},
		{"closing date on an open matter", MatterPatch{ClientID: refOf(c.ID), Title: refOf("T"), ClosedOn: refOf("2026-12-01")}, "closedOn"},
		{"closed before opened", MatterPatch{ClientID: refOf(c.ID), Title: refOf("T"), Status: refOf(StatusClosed), OpenedOn: refOf("2026-12-02"), ClosedOn: refOf("2026-12-01")}, "closedOn"},
		{"staffer responsible", MatterPatch{ClientID: refOf(c.ID), Title: refOf("T"), ResponsibleAttorneyID: refOf(f.staffer)}, "responsibleAttorneyId"},
		{"stranger on the team", MatterPatch{ClientID: refOf(c.ID), Title: refOf("T"), Team: refOf([]string{storetest.ID()})}, "team[0]"},
		{"valid", MatterPatch{ClientID: refOf(c.ID), Title: refOf("T"), ResponsibleAttorneyID: refOf(f.a.UserID), Team: refOf([]string{f.staffer, f.staffer})}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := f.svc.CreateMatter(ctx, f.a, tt.p)
			wantFieldErr(t, err, tt.field)
			if err != nil {
				return
			}
			// Opened today in New York, where it is still 7 December.
			if m.OpenedOn != "2026-12-07" || m.Status != StatusOpen || m.ClientUpdates != UpdatesNone || len(m.Team) != 1 {
				t.Fatalf("defaults: %+v", m)
			}
		})
	}
	m, err := f.svc.CreateMatter(ctx, f.a, MatterPatch{ClientID: refOf(c.ID), Title: refOf("Lease"), Status: refOf(StatusPending)})
	if err != nil {
		t.Fatal(err)
	}
	closed, err := f.svc.UpdateMatter(ctx, f.a, m.ID, MatterPatch{Status: refOf(StatusClosed)})
	if err != nil || closed.ClosedOn != "2026-12-07" {
		t.Fatalf("close: %+v %v", closed, err)
	}
	if _, err := f.svc.UpdateMatter(ctx, f.a, m.ID, MatterPatch{ClientID: refOf(storetest.ID())}); fault.As(err) == nil {
		t.Fatal("a matter moved to another client")
	}
	reopened, err := f.svc.UpdateMatter(ctx, f.a, m.ID, MatterPatch{Status: refOf(StatusOpen)})
	if err != nil || reopened.ClosedOn != "" {
		t.Fatalf("reopen: %+v %v", reopened, err)
	}
	if got, _ := f.svc.Client(ctx, f.a.OrgID, c.ID); got.OpenMatters != 2 {
		t.Fatalf("open matters %d, want 2 (the valid one and the reopened one)", got.OpenMatters)
	}
	list, _, err := f.svc.ListMatters(ctx, f.a.OrgID, MatterFilter{ClientID: c.ID}, 10, nil)
	if err != nil || len(list) != 2 {
		t.Fatalf("matters of the client: %d %v", len(list), err)
	}
	if list, _, err := f.svc.ListMatters(ctx, f.a.OrgID, MatterFilter{Status: StatusOpen}, 10, nil); err != nil || len(list) != 2 {
		t.Fatalf("open matters: %d %v", len(list), err)
	}
	para := caller.Caller{OrgID: f.a.OrgID, UserID: f.staffer, Role: access.Staff}
	if err := f.svc.DeleteMatter(ctx, para, m.ID); !fault.Is(err, fault.Forbidden) {
		t.Fatalf("staff off the matter deleted it: %v", err)
	}
	if err := f.svc.DeleteMatter(ctx, f.a, m.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.Client(ctx, f.a.OrgID, c.ID); got.OpenMatters != 1 {
		t.Fatalf("open matters %d after deleting an open one, want 1", got.OpenMatters)
	}
}

func TestBookingsAndNotes(t *testing.T) {
	f := newCRM(t)
	ctx := context.Background()
	c, m := f.clientAndMatter(t)
	base := func(mod func(*BookingPatch)) BookingPatch {
		p := BookingPatch{ClientID: refOf(c.ID), Title: refOf("Intake"), StartsAt: refOf("2026-12-10T10:00:00-05:00"), EndsAt: refOf("2026-12-10T11:00:00-05:00")}
		if mod != nil {
			mod(&p)
		}
		return p
	}
	tests := []struct {
		name  string
		p     BookingPatch
		field string
	}{
		{"valid, in the org's zone", base(nil), ""},
		{"with matter, attendee and video", base(func(p *BookingPatch) {
			p.MatterID, p.Attendees, p.VideoURL, p.Timezone = refOf(m.ID), refOf([]string{f.staffer}), refOf("https://meet.example.com/x"), refOf("Europe/Paris")
		}), ""},
		{"unknown client", base(func(p *BookingPatch) { p.ClientID = refOf(storetest.ID()) }), "clientId"},
		{"matter of another client", base(func(p *BookingPatch) { p.MatterID = refOf(storetest.ID()) }), "matterId"},
		{"no title", base(func(p *BookingPatch) { p.Title = refOf("") }), "title"},
		{"no offset", base(func(p *BookingPatch) { p.StartsAt = refOf("2026-12-10T10:00:00") }), "startsAt"},
		{"year 1999", base(func(p *BookingPatch) { p.StartsAt = refOf("1999-12-10T10:00:00Z") }), "startsAt"},
		{"no end", base(func(p *BookingPatch) { p.EndsAt = nil }), "endsAt"},
		{"ends before it starts", base(func(p *BookingPatch) { p.EndsAt = refOf("2026-12-10T09:00:00-05:00") }), "endsAt"},
		{"fifteen days", base(func(p *BookingPatch) { p.EndsAt = refOf("2026-12-25T10:00:00-05:00") }), "endsAt"},
		{"http video link", base(func(p *BookingPatch) { p.VideoURL = refOf("http://meet.example.com/x") }), "videoUrl"},
		{"bad zone", base(func(p *BookingPatch) { p.Timezone = refOf("Mars/Olympus") }), "timezone"},
		{"stranger attends", base(func(p *BookingPatch) { p.Attendees = refOf([]string{storetest.ID()}) }), "attendees[0]"},
	}
	var booked []Booking
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := f.svc.CreateBooking(ctx, f.a, tt.p)
			wantFieldErr(t, err, tt.field)
			if err == nil {
				booked = append(booked, b)
			}
		})
	}
	if len(booked) != 2 || booked[0].Timezone != "America/New_York" || booked[1].Timezone != "Europe/Paris" {
		t.Fatalf("booked %+v", booked)
	}
	moved, err := f.svc.UpdateBooking(ctx, f.a, booked[0].ID, BookingPatch{StartsAt: refOf("2026-12-11T10:00:00-05:00"), EndsAt: refOf("2026-12-11T10:30:00-05:00")})
	if err != nil || !moved.StartsAt.Equal(time.Date(2026, 12, 11, 15, 0, 0, 0, time.UTC)) {
		t.Fatalf("move: %+v %v", moved, err)
	}
	if _, err := f.svc.UpdateBooking(ctx, f.a, booked[0].ID, BookingPatch{EndsAt: refOf("2026-12-11T09:00:00-05:00")}); fault.As(err) == nil {
		t.Fatal("an update made a booking end before it starts")
	}
	list, _, err := f.svc.ListBookings(ctx, f.a.OrgID, BookingFilter{From: time.Date(2026, 12, 11, 0, 0, 0, 0, time.UTC)}, 10, nil)
	if err != nil || len(list) != 1 || list[0].ID != booked[0].ID {
		t.Fatalf("bookings from the 11th: %+v %v", list, err)
	}
	if list, _, err := f.svc.ListBookings(ctx, f.a.OrgID, BookingFilter{ClientID: c.ID}, 10, nil); err != nil || len(list) != 2 {
		t.Fatalf("bookings of the client: %d %v", len(list), err)
	}
	if err := f.svc.DeleteBooking(ctx, f.a, booked[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Booking(ctx, f.a.OrgID, booked[1].ID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("deleted booking read back: %v", err)
	}

	// Notes: on a client and on a matter; only the author or a manager
	// changes one.
	if _, err := f.svc.CreateNote(ctx, f.a, Parent{Kind: "client", ID: c.ID}, NoteInput{Body: refOf("  ")}); fault.As(err) == nil {
		t.Fatal("an empty note was kept")
	}
	if _, err := f.svc.CreateNote(ctx, f.a, Parent{Kind: "client", ID: storetest.ID()}, NoteInput{Body: refOf("x")}); !fault.Is(err, fault.NotFound) {
		t.Fatalf("note on no client: %v", err)
	}
	para := caller.Caller{OrgID: f.a.OrgID, UserID: f.staffer, Role: access.Staff}
	mine, err := f.svc.CreateNote(ctx, f.a, Parent{Kind: "client", ID: c.ID}, NoteInput{Body: refOf("Called the client.")})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := f.svc.CreateNote(ctx, para, Parent{Kind: "matter", ID: m.ID}, NoteInput{Body: refOf("Filed the motion.")})
	if err != nil || theirs.ClientID != c.ID || theirs.MatterID != m.ID {
		t.Fatalf("matter note: %+v %v", theirs, err)
	}
	if _, err := f.svc.UpdateNote(ctx, para, mine.ID, NoteInput{Body: refOf("edited")}); !fault.Is(err, fault.Forbidden) {
		t.Fatalf("a staffer edited the owner's note: %v", err)
	}
	if n, err := f.svc.UpdateNote(ctx, f.a, theirs.ID, NoteInput{Body: refOf("Filed the motion on time.")}); err != nil || n.Body != "Filed the motion on time." {
		t.Fatalf("owner edits a note: %+v %v", n, err)
	}
	notes, _, err := f.svc.ListNotes(ctx, f.a.OrgID, Parent{Kind: "client", ID: c.ID}, 10, nil)
	if err != nil || len(notes) != 1 {
		t.Fatalf("client notes (its own, not its matter's): %d %v", len(notes), err)
	}
	if notes, _, err := f.svc.ListNotes(ctx, f.a.OrgID, Parent{Kind: "matter", ID: m.ID}, 10, nil); err != nil || len(notes) != 1 {
		t.Fatalf("matter notes: %d %v", len(notes), err)
	}
	if err := f.svc.DeleteNote(ctx, para, theirs.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Note(ctx, f.a.OrgID, theirs.ID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("deleted note read back: %v", err)
	}
}
