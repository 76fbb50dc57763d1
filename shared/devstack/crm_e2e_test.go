package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// recorded collects the domain events of the run, per org.
var recorded = struct {
	once sync.Once
	mu   sync.Mutex
	by   map[string][]string // org id → "detailType clientId matterId"
}{by: map[string][]string{}}

// eventsOf returns the events published for org so far, subscribing to the
// CRM and document events on first use.
func eventsOf(orgID string) []string {
	recorded.once.Do(func() {
		for _, dt := range []string{"client.created", "matter.created", "matter.closed", "booking.created", "document.ready"} {
			stack.Bus.Subscribe(dt, func(_ context.Context, ev events.EventBridgeEvent) error {
				var d struct{ OrgID, ClientID, MatterID string }
				if err := json.Unmarshal(ev.Detail, &d); err != nil {
					return err
				}
				recorded.mu.Lock()
				recorded.by[d.OrgID] = append(recorded.by[d.OrgID], ev.DetailType+" "+d.ClientID+" "+d.MatterID)
				recorded.mu.Unlock()
				return nil
			})
		}
	})
	recorded.mu.Lock()
	defer recorded.mu.Unlock()
	return slices.Clone(recorded.by[orgID])
}

// in returns a copy of a that reports to t (a subtest).
func (a *account) in(t testing.TB) *account {
	c := *a.client
	c.t = t
	cp := *a
	cp.client = &c
	return &cp
}

// newClient creates a client and returns its id.
func (a *account) newClient(name string) string {
	a.t.Helper()
	return str(a.must(201, "POST", "/v1/clients", map[string]any{"name": name, "kind": "person"}).Body, "id")
}

// newMatter opens a matter for clientID and returns its id.
func (a *account) newMatter(clientID string, extra ...any) string {
	a.t.Helper()
	body := map[string]any{"clientId": clientID, "title": "Estate of Smith"}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i].(string)] = extra[i+1]
	}
	return str(a.must(201, "POST", "/v1/matters", body).Body, "id")
}

// items returns the "items" of a list answer.
func items(r result) []map[string]any {
	var out []map[string]any
	list, _ := r.Body["items"].([]any)
	for _, it := range list {
		out = append(out, it.(map[string]any))
	}
	return out
}

func ids(r result) []string {
	var out []string
	for _, it := range items(r) {
		out = append(out, it["id"].(string))
	}
	return out
}

func TestClientLifecycle(t *testing.T) {
	a := signup(t)
	eventsOf(a.orgID)
	r := a.must(201, "POST", "/v1/clients", map[string]any{
		"name": "  Zoë Ångström ", "kind": "person", "email": "Zoe@Example.COM", "phone": "+14155550123",
		"address": map[string]any{"line1": "1 Main St", "city": "Springfield", "country": "us"},
		"tags":    []string{"VIP", "vip", "estate"},
	})
	id := str(r.Body, "id")
	if str(r.Body, "name") != "Zoë Ångström" || str(r.Body, "email") != "zoe@example.com" || str(r.Body, "address", "country") != "US" {
		t.Errorf("created client not normalized: %s", r.Raw)
	}
	if tags := r.Body["tags"].([]any); len(tags) != 2 {
		t.Errorf("tags = %v, want duplicates dropped", tags)
	}
	if strings.Contains(r.Raw, `"GSI1PK"`) || strings.Contains(r.Raw, `"PK"`) {
		t.Errorf("answer leaks table keys: %s", r.Raw)
	}
	got := a.must(200, "GET", "/v1/clients/"+id, nil)
	if got.Raw != r.Raw {
		t.Errorf("GET differs from create:\n%s\n%s", got.Raw, r.Raw)
	}

	// PATCH changes only what it names; "" clears an optional field.
	p := a.must(200, "PATCH", "/v1/clients/"+id, map[string]any{"phone": "+442071838750", "email": ""})
	if str(p.Body, "phone") != "+442071838750" || str(p.Body, "email") != "" || str(p.Body, "name") != "Zoë Ångström" || str(p.Body, "address", "city") != "Springfield" {
		t.Errorf("patched client = %s", p.Raw)
	}

	// An address may also be one free-form string, and reads back as one.
	p = a.must(200, "PATCH", "/v1/clients/"+id, map[string]any{"address": " 10 Downing St, London SW1A 2AA "})
	if p.Body["address"] != "10 Downing St, London SW1A 2AA" {
		t.Errorf("free-form address = %v", p.Body["address"])
	}
	if got := a.must(200, "GET", "/v1/clients/"+id, nil); got.Body["address"] != "10 Downing St, London SW1A 2AA" {
		t.Errorf("free-form address read back as %v", got.Body["address"])
	}
	a.must(422, "PATCH", "/v1/clients/"+id, map[string]any{"address": strings.Repeat("x", 501)})

	a.must(204, "DELETE", "/v1/clients/"+id, nil)
	a.must(404, "GET", "/v1/clients/"+id, nil)
	a.must(404, "DELETE", "/v1/clients/"+id, nil)
	a.must(404, "PATCH", "/v1/clients/"+id, map[string]any{"name": "Ghost"})
	if ev := eventsOf(a.orgID); !slices.Contains(ev, "client.created "+id+" ") {
		t.Errorf("events = %v, want client.created", ev)
	}
}

func TestClientValidation(t *testing.T) {
	a := signup(t)
	id := a.newClient("Valid Person")
	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no name", map[string]any{"kind": "person"}, "name"},
		{"blank name", map[string]any{"kind": "person", "name": "   "}, "name"},
		{"bad kind", map[string]any{"kind": "robot", "name": "X"}, "kind"},
		{"bad email", map[string]any{"kind": "person", "name": "X", "email": "not-an-email"}, "email"},
		{"bad phone", map[string]any{"kind": "person", "name": "X", "phone": "555-0100"}, "phone"},
		{"address without city", map[string]any{"kind": "person", "name": "X", "address": map[string]any{"line1": "1 Main", "country": "US"}}, "address.city"},
		{"bad country", map[string]any{"kind": "person", "name": "X", "address": map[string]any{"line1": "1 Main", "city": "Paris", "country": "France"}}, "address.country"},
		{"too many tags", map[string]any{"kind": "person", "name": "X", "tags": strings.Split(strings.Repeat("t,", 21)+"t", ",")}, "tags"},
		{"control characters", map[string]any{"kind": "person", "name": "X\u0000Y"}, "name"},
		{"long name", map[string]any{"kind": "person", "name": strings.Repeat("n", 201)}, "name"},
		{"unknown address field", map[string]any{"kind": "person", "name": "X", "address": map[string]any{"street": "1 Main"}}, "address.street"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := a.in(t)
			before := itemCount(t)
			r := a.must(422, "POST", "/v1/clients", tt.body)
			if !strings.Contains(r.Raw, `"field":"`+tt.field+`"`) {
				t.Errorf("problem does not name %s: %s", tt.field, r.Raw)
			}
			if top, _, _ := strings.Cut(tt.field, "."); tt.body[top] != nil {
				a.must(422, "PATCH", "/v1/clients/"+id, tt.body)
			}
			if after := itemCount(t); after != before {
				t.Errorf("refused request wrote %d items", after-before)
			}
		})
	}
}

func TestClientSearch(t *testing.T) {
	a := signup(t)
	for _, n := range []string{"Zoë Ångström", "zoe adams", "ZOEY Clark", "Ömer Smith", "Acme Corp", "Zed Zoe", "Mary-Jane Watson"} {
		a.newClient(n)
	}
	tests := []struct {
		q    string
		want []string
	}{
		{"zoe", []string{"Zed Zoe", "zoe adams", "Zoë Ångström", "ZOEY Clark"}},
		{"ZOË A", []string{"zoe adams", "Zoë Ångström"}},
		{"zoe ang", []string{"Zoë Ångström"}},
		{"ang", []string{"Zoë Ångström"}}, // any word of the name
		{"omer", []string{"Ömer Smith"}},
		{"smith", []string{"Ömer Smith"}},
		{"jane", []string{"Mary-Jane Watson"}},
		{"corp", []string{"Acme Corp"}},
		{"q", nil},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			a := a.in(t)
			r := a.must(200, "GET", "/v1/clients?q="+url.QueryEscape(tt.q), nil)
			var names []string
			for _, it := range items(r) {
				names = append(names, it["name"].(string))
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("q=%q found %q, want %q", tt.q, names, tt.want)
			}
			wantBatch := 1
			if len(tt.want) == 0 {
				wantBatch = 0
			}
			if got := calls.Of(r); got["Scan"] != 0 || got["Query"] != 1 || got["BatchGetItem"] != wantBatch {
				t.Errorf("search used %d queries, %d batch reads and %d scans, want one query and one batch read", got["Query"],
					got["BatchGetItem"], got["Scan"])
			}
		})
	}
	a.must(422, "GET", "/v1/clients?q="+strings.Repeat("a", 101), nil)
}

// TestClientSearchFollowsChanges: the name index changes with the name, in
// the same transaction, and a name matching at two words is listed once
// even when its two entries fall on different pages.
func TestClientSearchFollowsChanges(t *testing.T) {
	t.Parallel()
	a := signup(t)
	search := func(q string, limit int) []string {
		var out []string
		path := "/v1/clients?limit=" + fmt.Sprint(limit) + "&q=" + url.QueryEscape(q)
		for {
			r := a.must(200, "GET", path, nil)
			out = append(out, ids(r)...)
			next := str(r.Body, "nextCursor")
			if next == "" {
				return out
			}
			path = "/v1/clients?limit=" + fmt.Sprint(limit) + "&q=" + url.QueryEscape(q) + "&cursor=" + url.QueryEscape(next)
		}
	}
	anna := a.newClient("Anna Anderson")
	andy := a.newClient("Andy Annan")
	if got := search("an", 1); !slices.Equal(got, []string{anna, andy}) {
		t.Errorf("q=an one per page = %v, want each client once, by first matching word", got)
	}
	a.must(200, "PATCH", "/v1/clients/"+anna, map[string]any{"name": "Beatrix Kiddo"})
	if got := search("anderson", 5); len(got) != 0 {
		t.Errorf("the old name is still found: %v", got)
	}
	if got := search("kiddo", 5); !slices.Equal(got, []string{anna}) {
		t.Errorf("the new name is not found: %v", got)
	}
	a.must(204, "DELETE", "/v1/clients/"+anna, nil)
	if got := search("beatrix", 5); len(got) != 0 {
		t.Errorf("a deleted client is found: %v", got)
	}
}

func TestMattersAndOpenMatterRule(t *testing.T) {
	a := signup(t)
	eventsOf(a.orgID)
	lawyer := a.member("attorney")
	clerk := a.member("staff")
	c := a.newClient("Maria Garcia")
	r := a.must(201, "POST", "/v1/matters", map[string]any{"clientId": c, "title": "Garcia v. Acme", "practiceArea": "Litigation",
		"responsibleAttorneyId": lawyer.userID, "team": []string{clerk.userID, clerk.userID}})
	m := str(r.Body, "id")
	if str(r.Body, "status") != "open" || str(r.Body, "openedOn") != clock.Now().In(mustLoc(t, "America/New_York")).Format("2006-01-02") {
		t.Errorf("new matter = %s, want open today in the org's time zone", r.Raw)
	}
	if team := r.Body["team"].([]any); len(team) != 1 {
		t.Errorf("team = %v, want the duplicate dropped", team)
	}
	if got := a.must(200, "GET", "/v1/clients/"+c, nil); got.Body["openMatters"].(float64) != 1 {
		t.Errorf("openMatters = %v, want 1", got.Body["openMatters"])
	}

	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"clientId": c, "title": "X", "responsibleAttorneyId": clerk.userID}, "responsibleAttorneyId"},
		{map[string]any{"clientId": c, "title": "X", "team": []string{"01HZZZZZZZZZZZZZZZZZZZZZZZ"}}, "team[0]"},
		{map[string]any{"clientId": "01HZZZZZZZZZZZZZZZZZZZZZZZ", "title": "X"}, "clientId"},
		{map[string]any{"clientId": c, "title": "X", "status": "archived"}, "status"},
		{map[string]any{"clientId": c, "title": "X", "openedOn": "2026-02-30"}, "openedOn"},
		{map[string]any{"clientId": c, "title": "X", "closedOn": "2026-01-01"}, "closedOn"},
		{map[string]any{"clientId": c, "title": "X", "team": manyIDs(120)}, "team"}, // never more ids read than one batch holds
	} {
		r := a.must(422, "POST", "/v1/matters", bad.body)
		if !strings.Contains(r.Raw, `"field":"`+bad.field+`"`) {
			t.Errorf("problem does not name %s: %s", bad.field, r.Raw)
		}
	}
	a.must(422, "PATCH", "/v1/matters/"+m, map[string]any{"clientId": a.newClient("Someone Else")})

	// A client with an open matter cannot be deleted; once it is closed, it can.
	r = a.must(409, "DELETE", "/v1/clients/"+c, nil)
	if !strings.Contains(str(r.Body, "detail"), "1 open") {
		t.Errorf("409 detail = %q", str(r.Body, "detail"))
	}
	p := a.must(200, "PATCH", "/v1/matters/"+m, map[string]any{"status": "closed"})
	if str(p.Body, "closedOn") == "" || str(p.Body, "title") != "Garcia v. Acme" {
		t.Errorf("closed matter = %s", p.Raw)
	}
	if ev := eventsOf(a.orgID); !slices.Contains(ev, "matter.closed "+c+" "+m) || !slices.Contains(ev, "matter.created "+c+" "+m) {
		t.Errorf("events = %v", ev)
	}
	if got := a.must(200, "GET", "/v1/clients/"+c, nil); got.Body["openMatters"].(float64) != 0 {
		t.Errorf("openMatters after closing = %v", got.Body["openMatters"])
	}
	// Reopen and close again: the count follows.
	a.must(200, "PATCH", "/v1/matters/"+m, map[string]any{"status": "pending"})
	a.must(409, "DELETE", "/v1/clients/"+c, nil)
	a.must(200, "PATCH", "/v1/matters/"+m, map[string]any{"status": "closed"})
	a.must(204, "DELETE", "/v1/clients/"+c, nil)
	// The closed matter stays on record; it cannot be reopened without its client.
	a.must(200, "GET", "/v1/matters/"+m, nil)
	a.must(409, "PATCH", "/v1/matters/"+m, map[string]any{"status": "open"})
	a.must(422, "POST", "/v1/matters", map[string]any{"clientId": c, "title": "New"})
}

// manyIDs returns n well-formed ids that are nobody's.
func manyIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("01HZZZZZZZZZZZZZZZZZZZZ%03d", i)
	}
	return out
}

func mustLoc(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestMatterLists(t *testing.T) {
	t.Parallel()
	a := signup(t)
	c1, c2 := a.newClient("One"), a.newClient("Two")
	open1 := a.newMatter(c1)
	closed1 := a.newMatter(c1, "status", "closed")
	pending1 := a.newMatter(c1, "status", "pending")
	open2 := a.newMatter(c2)
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{open2, pending1, closed1, open1}},
		{"?clientId=" + c1, []string{pending1, open1, closed1}},
		{"?clientId=" + c1 + "&status=open", []string{open1}},
		{"?status=open", []string{open2, open1}},
		{"?status=closed", []string{closed1}},
		{"?clientId=" + c2, []string{open2}},
	}
	for _, tt := range tests {
		if got := ids(a.must(200, "GET", "/v1/matters"+tt.query, nil)); !slices.Equal(got, tt.want) {
			t.Errorf("GET /v1/matters%s = %v, want %v", tt.query, got, tt.want)
		}
	}
	a.must(422, "GET", "/v1/matters?status=archived", nil)
	a.must(422, "GET", "/v1/matters?clientId=nope", nil)
}

func TestMatterDeletionByRole(t *testing.T) {
	t.Parallel()
	a := signup(t)
	staffOn, staffOff, biller, lawyer := a.member("staff"), a.member("staff"), a.member("billing"), a.member("attorney")
	c := a.newClient("Role Client")
	m1 := a.newMatter(c, "team", []string{staffOn.userID})
	m2 := a.newMatter(c, "team", []string{staffOn.userID})
	m3 := a.newMatter(c)

	staffOff.must(403, "DELETE", "/v1/matters/"+m1, nil)
	biller.must(403, "DELETE", "/v1/matters/"+m1, nil)
	staffOn.must(204, "DELETE", "/v1/matters/"+m1, nil)
	staffOn.must(403, "DELETE", "/v1/matters/"+m3, nil)
	lawyer.must(204, "DELETE", "/v1/matters/"+m3, nil)
	a.must(200, "GET", "/v1/matters/"+m2, nil)
	if got := a.must(200, "GET", "/v1/clients/"+c, nil); got.Body["openMatters"].(float64) != 1 {
		t.Errorf("openMatters = %v after deleting two of three open matters", got.Body["openMatters"])
	}
	// Taken off the team, staff may no longer delete it.
	a.must(200, "PATCH", "/v1/matters/"+m2, map[string]any{"team": []string{}})
	staffOn.must(403, "DELETE", "/v1/matters/"+m2, nil)

	// The rest of the role matrix as the API applies it.
	biller.must(200, "GET", "/v1/clients/"+c, nil)
	biller.must(403, "POST", "/v1/clients", map[string]any{"name": "X", "kind": "person"})
	biller.must(403, "GET", "/v1/clients/"+c+"/notes", nil)
	biller.must(403, "GET", "/v1/activity?clientId="+c, nil)
	staffOff.must(403, "DELETE", "/v1/clients/"+c, nil)
	staffOff.must(201, "POST", "/v1/clients", map[string]any{"name": "Walk-in", "kind": "company"})
}

func TestRemovedMemberCannotWrite(t *testing.T) {
	a := signup(t)
	m := a.member("attorney")
	c := a.newClient("Kept Safe")
	a.must(204, "DELETE", "/v1/users/"+m.userID, nil)
	// The access token is still valid for minutes, but every request reads
	// the membership: the token of a removed member is refused outright.
	before := itemCount(t)
	m.must(401, "POST", "/v1/clients/"+c+"/notes", map[string]any{"body": "after removal"})
	m.must(401, "PATCH", "/v1/clients/"+c, map[string]any{"name": "Hijacked"})
	if after := itemCount(t); after != before {
		t.Errorf("a removed member wrote %d items", after-before)
	}
}

func TestNotes(t *testing.T) {
	t.Parallel()
	a := signup(t)
	clerk, other, lawyer := a.member("staff"), a.member("staff"), a.member("attorney")
	c := a.newClient("Note Client")
	m := a.newMatter(c)
	n1 := str(clerk.must(201, "POST", "/v1/clients/"+c+"/notes", map[string]any{"body": "Called about the will.\nWill call back."}).Body, "id")
	n2 := str(clerk.must(201, "POST", "/v1/matters/"+m+"/notes", map[string]any{"body": "Filed the motion."}).Body, "id")
	mn := a.must(200, "GET", "/v1/notes/"+n2, nil)
	if str(mn.Body, "clientId") != c || str(mn.Body, "matterId") != m || str(mn.Body, "authorId") != clerk.userID {
		t.Errorf("matter note = %s", mn.Raw)
	}
	if got := ids(a.must(200, "GET", "/v1/clients/"+c+"/notes", nil)); !slices.Equal(got, []string{n1}) {
		t.Errorf("client notes = %v", got)
	}
	if got := ids(a.must(200, "GET", "/v1/matters/"+m+"/notes", nil)); !slices.Equal(got, []string{n2}) {
		t.Errorf("matter notes = %v", got)
	}
	other.must(403, "PATCH", "/v1/notes/"+n1, map[string]any{"body": "not mine"})
	other.must(403, "DELETE", "/v1/notes/"+n1, nil)
	if r := clerk.must(200, "PATCH", "/v1/notes/"+n1, map[string]any{"body": "Edited by author"}); str(r.Body, "body") != "Edited by author" {
		t.Errorf("patched note = %s", r.Raw)
	}
	lawyer.must(200, "PATCH", "/v1/notes/"+n1, map[string]any{"body": "Edited by the attorney"})
	a.must(422, "POST", "/v1/clients/"+c+"/notes", map[string]any{"body": "  "})
	a.must(422, "POST", "/v1/clients/"+c+"/notes", map[string]any{"body": strings.Repeat("x", 20001)})
	a.must(404, "POST", "/v1/clients/01HZZZZZZZZZZZZZZZZZZZZZZZ/notes", map[string]any{"body": "orphan"})
	a.must(404, "GET", "/v1/matters/01HZZZZZZZZZZZZZZZZZZZZZZZ/notes", nil)
	lawyer.must(204, "DELETE", "/v1/notes/"+n1, nil)
	a.must(404, "GET", "/v1/notes/"+n1, nil)
}

func TestBookings(t *testing.T) {
	a := signup(t)
	eventsOf(a.orgID)
	lawyer := a.member("attorney")
	c, other := a.newClient("Booked Client"), a.newClient("Other Client")
	m, otherMatter := a.newMatter(c), a.newMatter(other)
	r := a.must(201, "POST", "/v1/bookings", map[string]any{"clientId": c, "matterId": m, "title": "Consultation",
		"startsAt": "2027-03-01T10:00:00-05:00", "endsAt": "2027-03-01T11:00:00-05:00", "attendees": []string{lawyer.userID},
		"videoUrl": "https://meet.example.com/abc", "smsReminder": true})
	b := str(r.Body, "id")
	if str(r.Body, "startsAt") != "2027-03-01T15:00:00Z" || str(r.Body, "timezone") != "America/New_York" || r.Body["smsReminder"] != true {
		t.Errorf("booking = %s, want UTC times and the org's time zone", r.Raw)
	}
	if ev := eventsOf(a.orgID); !slices.Contains(ev, "booking.created "+c+" "+m) {
		t.Errorf("events = %v", ev)
	}
	later := str(a.must(201, "POST", "/v1/bookings", map[string]any{"clientId": other, "title": "Follow-up", "timezone": "Europe/London",
		"startsAt": "2027-03-05T09:00:00Z", "endsAt": "2027-03-05T09:30:00Z", "location": "Office"}).Body, "id")

	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"clientId": c, "matterId": otherMatter, "title": "X", "startsAt": "2027-03-01T10:00:00Z", "endsAt": "2027-03-01T11:00:00Z"}, "matterId"},
		{map[string]any{"clientId": c, "title": "X", "startsAt": "2027-03-01T10:00:00Z", "endsAt": "2027-03-01T09:00:00Z"}, "endsAt"},
		{map[string]any{"clientId": c, "title": "X", "startsAt": "tomorrow", "endsAt": "2027-03-01T09:00:00Z"}, "startsAt"},
		{map[string]any{"clientId": c, "title": "X", "startsAt": "2027-03-01T10:00:00Z", "endsAt": "2027-03-30T09:00:00Z"}, "endsAt"},
		{map[string]any{"clientId": c, "title": "X", "startsAt": "2027-03-01T10:00:00Z", "endsAt": "2027-03-01T11:00:00Z", "attendees": []string{"01HZZZZZZZZZZZZZZZZZZZZZZZ"}}, "attendees[0]"},
		{map[string]any{"clientId": c, "title": "X", "startsAt": "2027-03-01T10:00:00Z", "endsAt": "2027-03-01T11:00:00Z", "videoUrl": "javascript:alert(1)"}, "videoUrl"},
		{map[string]any{"clientId": c, "title": "X", "startsAt": "2027-03-01T10:00:00Z", "endsAt": "2027-03-01T11:00:00Z", "timezone": "Mars/Olympus"}, "timezone"},
		{map[string]any{"title": "X", "startsAt": "2027-03-01T10:00:00Z", "endsAt": "2027-03-01T11:00:00Z"}, "clientId"},
		{map[string]any{"clientId": c, "title": "X", "startsAt": "2027-03-01T10:00:00Z", "endsAt": "2027-03-01T11:00:00Z", "attendees": manyIDs(150)}, "attendees"},
	} {
		r := a.must(422, "POST", "/v1/bookings", bad.body)
		if !strings.Contains(r.Raw, `"field":"`+bad.field+`"`) {
			t.Errorf("problem does not name %s: %s", bad.field, r.Raw)
		}
	}

	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{b, later}},
		{"?from=2027-03-02T00:00:00Z", []string{later}},
		{"?to=2027-03-01T15:00:00Z", nil}, // to is exclusive
		{"?from=2027-03-01T15:00:00Z&to=2027-03-01T15:00:01Z", []string{b}},
		{"?clientId=" + other, []string{later}},
	}
	for _, tt := range tests {
		if got := ids(a.must(200, "GET", "/v1/bookings"+tt.query, nil)); !slices.Equal(got, tt.want) {
			t.Errorf("GET /v1/bookings%s = %v, want %v", tt.query, got, tt.want)
		}
	}
	a.must(422, "GET", "/v1/bookings?from=2027-03-02T00:00:00Z&to=2027-03-01T00:00:00Z", nil)

	// Moving the booking re-sorts it; the rest stays.
	p := a.must(200, "PATCH", "/v1/bookings/"+b, map[string]any{"startsAt": "2027-03-10T10:00:00Z", "endsAt": "2027-03-10T11:00:00Z"})
	if str(p.Body, "title") != "Consultation" || str(p.Body, "matterId") != m {
		t.Errorf("moved booking = %s", p.Raw)
	}
	if got := ids(a.must(200, "GET", "/v1/bookings", nil)); !slices.Equal(got, []string{later, b}) {
		t.Errorf("bookings after the move = %v", got)
	}
	a.must(204, "DELETE", "/v1/bookings/"+b, nil)
	a.must(404, "GET", "/v1/bookings/"+b, nil)
}

func TestActivityLog(t *testing.T) {
	t.Parallel()
	a := signup(t)
	a.client.ip = "203.0.113.9"
	c := a.newClient("Audited Client")
	m := a.newMatter(c)
	a.must(201, "POST", "/v1/matters/"+m+"/notes", map[string]any{"body": "Privileged strategy memo"})
	a.must(200, "PATCH", "/v1/matters/"+m, map[string]any{"status": "closed"})

	r := a.must(200, "GET", "/v1/activity?matterId="+m, nil)
	var actions []string
	for _, e := range items(r) {
		actions = append(actions, e["action"].(string))
		if e["actorId"] != a.userID || e["ip"] != "203.0.113.9" || e["userAgent"] != "Go-http-client/1.1" || e["at"] == "" {
			t.Errorf("entry lacks who/where/when: %v", e)
		}
	}
	if want := []string{"matter.updated", "note.created", "matter.created"}; !slices.Equal(actions, want) {
		t.Errorf("matter activity = %v, want newest first %v", actions, want)
	}
	if items(r)[0]["detail"] != "open → closed" {
		t.Errorf("status change detail = %v", items(r)[0]["detail"])
	}
	if strings.Contains(r.Raw, "Privileged") {
		t.Error("the activity log copies note text")
	}
	// A client's log includes its matters'.
	if got := len(items(a.must(200, "GET", "/v1/activity?clientId="+c, nil))); got != 4 {
		t.Errorf("client activity has %d entries, want 4", got)
	}
	if got := len(items(a.must(200, "GET", "/v1/activity", nil))); got != 4 {
		t.Errorf("org activity has %d entries, want 4", got)
	}
	a.must(422, "GET", "/v1/activity?clientId="+c+"&matterId="+m, nil)
}

func TestPaginationStableWhileAdding(t *testing.T) {
	t.Parallel()
	a := signup(t)
	var want []string
	for i := range 12 {
		want = append(want, a.newClient(fmt.Sprintf("Client %02d", i)))
	}
	slices.Reverse(want) // newest first
	var got []string
	path := "/v1/clients?limit=5"
	for pages := 0; ; pages++ {
		r := a.must(200, "GET", path, nil)
		got = append(got, ids(r)...)
		if pages == 0 {
			for i := range 3 { // added after the first page: they sort before it
				a.newClient(fmt.Sprintf("Late %d", i))
			}
		}
		next := str(r.Body, "nextCursor")
		if next == "" {
			break
		}
		path = "/v1/clients?limit=5&cursor=" + url.QueryEscape(next)
		// A cursor only continues its own list.
		a.must(400, "GET", "/v1/matters?cursor="+url.QueryEscape(next), nil)
		a.must(400, "GET", "/v1/clients?q=client&cursor="+url.QueryEscape(next), nil)
		signup(t).must(400, "GET", path, nil)
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged ids = %v\nwant %v (each once, in order)", got, want)
	}
	// By name, with a search, across pages.
	var names []string
	path = "/v1/clients?limit=4&q=client"
	for {
		r := a.must(200, "GET", path, nil)
		for _, it := range items(r) {
			names = append(names, it["name"].(string))
		}
		next := str(r.Body, "nextCursor")
		if next == "" {
			break
		}
		path = "/v1/clients?limit=4&q=client&cursor=" + url.QueryEscape(next)
	}
	if len(names) != 12 || !slices.IsSorted(names) {
		t.Errorf("search pages = %v", names)
	}
}

// TestCallsPerRequest pins the DynamoDB work of the hot paths: a get is one
// read, a page one query, a write with its activity record one transaction.
func TestCallsPerRequest(t *testing.T) {
	a := signup(t)
	c := a.newClient("Counted")
	for range 3 {
		a.newMatter(c)
	}
	tests := []struct {
		name         string
		method, path string
		body         any
		want         map[string]int
	}{
		{"get client", "GET", "/v1/clients/" + c, nil, map[string]int{"GetItem": 1}},
		{"list matters", "GET", "/v1/matters?limit=25", nil, map[string]int{"Query": 1}},
		{"list matters of a client", "GET", "/v1/matters?clientId=" + c, nil, map[string]int{"Query": 1}},
		{"create client", "POST", "/v1/clients", map[string]any{"name": "New", "kind": "company"}, map[string]int{"TransactWriteItems": 1}},
		{"create client note", "POST", "/v1/clients/" + c + "/notes", map[string]any{"body": "hello"}, map[string]int{"TransactWriteItems": 1}},
		// One batch read (org, members, client, matter), one transaction.
		{"create matter", "POST", "/v1/matters", map[string]any{"clientId": c, "title": "Counted", "team": []string{a.userID}},
			map[string]int{"BatchGetItem": 1, "TransactWriteItems": 1}},
		{"create booking", "POST", "/v1/bookings", map[string]any{"clientId": c, "title": "Counted", "attendees": []string{a.userID},
			"startsAt": "2027-01-01T10:00:00Z", "endsAt": "2027-01-01T11:00:00Z"}, map[string]int{"BatchGetItem": 1, "TransactWriteItems": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := callsOf(a.in(t), tt.method, tt.path, tt.body), plusMemberRead(tt.want); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("DynamoDB calls = %v, want %v", got, want)
			}
		})
	}
}

// callsOf sends one request that must succeed and returns the DynamoDB
// calls it made, by operation.
func callsOf(a *account, method, path string, body any) map[string]int {
	a.t.Helper()
	r := a.do(method, path, body)
	if r.Status >= 300 {
		a.t.Fatalf("status %d: %s", r.Status, r.Raw)
	}
	return calls.Of(r)
}

// parallel runs n requests at once and returns their statuses in order.
func parallel(n int, req func(i int) result) []int {
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = req(i).Status
		}()
	}
	wg.Wait()
	return statuses
}

// TestOpenMatterCountUnderContention: matters opened and closed at once
// leave the client's open count exact, and a client deleted while a matter
// is being opened for it ends with exactly one of the two having happened.
func TestOpenMatterCountUnderContention(t *testing.T) {
	t.Parallel()
	a := signup(t)
	c := a.newClient("Busy Client")
	st := parallel(12, func(i int) result {
		return a.do("POST", "/v1/matters", map[string]any{"clientId": c, "title": fmt.Sprintf("Matter %d", i)})
	})
	opened := ids(a.must(200, "GET", "/v1/matters?clientId="+c, nil))
	if len(opened) != 12 || slices.ContainsFunc(st, func(s int) bool { return s != 201 }) {
		t.Fatalf("statuses %v, %d matters", st, len(opened))
	}
	parallel(6, func(i int) result {
		return a.do("PATCH", "/v1/matters/"+opened[i], map[string]any{"status": "closed"})
	})
	if got := a.must(200, "GET", "/v1/clients/"+c, nil).Body["openMatters"]; got != float64(6) {
		t.Errorf("openMatters = %v after closing 6 of 12, want 6", got)
	}

	for round := range 5 {
		c := a.newClient(fmt.Sprintf("Race %d", round))
		st := parallel(2, func(i int) result {
			if i == 0 {
				return a.do("DELETE", "/v1/clients/"+c, nil)
			}
			return a.do("POST", "/v1/matters", map[string]any{"clientId": c, "title": "Last minute"})
		})
		deleted, opened := st[0] == 204, st[1] == 201
		if deleted == opened || (!deleted && st[0] != 409) || (!opened && st[1] != 422) {
			t.Errorf("round %d: delete %d, open %d: want exactly one to succeed", round, st[0], st[1])
		}
	}
}

// TestConcurrentEditsAreNotLost: edits of different fields of one client at
// once either land or answer 409 (try again); none is silently overwritten.
func TestConcurrentEditsAreNotLost(t *testing.T) {
	t.Parallel()
	a := signup(t)
	c := a.newClient("Edited Client")
	edits := []map[string]any{
		{"email": "edited@example.com"}, {"phone": "+14155550100"}, {"tags": []string{"vip"}},
		{"kind": "company"}, {"address": map[string]any{"line1": "1 Main St", "city": "Boston", "country": "US"}},
	}
	st := parallel(len(edits), func(i int) result { return a.do("PATCH", "/v1/clients/"+c, edits[i]) })
	got := a.must(200, "GET", "/v1/clients/"+c, nil).Body
	for i, s := range st {
		if s != 200 && s != 409 {
			t.Errorf("edit %d answered %d", i, s)
			continue
		}
		for field, v := range edits[i] {
			j1, _ := json.Marshal(v)
			j2, _ := json.Marshal(got[field])
			if s == 200 && field != "tags" && field != "address" && string(j1) != string(j2) {
				t.Errorf("edit %d of %s answered 200 but was lost: %s", i, field, j2)
			}
			if s == 200 && (field == "tags" || field == "address") && got[field] == nil {
				t.Errorf("edit %d of %s answered 200 but was lost", i, field)
			}
		}
	}
}
