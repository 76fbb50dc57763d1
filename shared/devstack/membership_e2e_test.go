package devstack

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/tenant"
	"github.com/matterly/matterly/shared/wire/messagingwire"
	"github.com/matterly/matterly/shared/wire/summarieswire"
)

// TestRevokedMemberSweep walks every authenticated route of the route table
// with the token of a member removed after it was issued: each answers 401
// (as GET /v1/me does) and sends no write to DynamoDB, and the org's
// records are unchanged. A new route cannot forget the check: the router
// makes it for every authenticated route.
func TestRevokedMemberSweep(t *testing.T) {
	v := newVictim(t, "admin")
	removed := v.member
	v.owner.must(204, "DELETE", "/v1/users/"+removed.userID, nil)
	before := v.snapshot()
	for _, rt := range routes.Table {
		if rt.Public {
			continue
		}
		t.Run(rt.Key(), func(t *testing.T) {
			path, body, ok := sampleRequest(rt.Key(), removed, v)
			if !ok {
				t.Fatalf("no sample request for %s: add one to sampleRequest", rt.Key())
			}
			c := &client{t: t, token: removed.token}
			r := c.do(rt.Method, path, body)
			if r.Status != 401 || str(r.Body, "type") == "" {
				t.Errorf("removed member: status %d, want 401: %s", r.Status, r.Raw)
			}
			if n := calls.WritesOf(r); n != 0 {
				t.Errorf("removed member's request sent %d writes to DynamoDB", n)
			}
		})
	}
	if got := v.snapshot(); got != before {
		t.Errorf("a removed member changed the org's records:\nbefore %s\nafter  %s", before, got)
	}
}

// TestDemotedMemberSweep walks every authenticated route with the token of
// an admin demoted to billing after it was issued, next to a fresh billing
// token of the same member: wherever billing is refused (403) the old token
// is refused too, sending no write to DynamoDB; wherever billing is allowed
// the old token is not refused for its role.
func TestDemotedMemberSweep(t *testing.T) {
	v := newVictim(t, "staff")
	demoted := v.owner.member("admin") // its token says admin
	v.owner.must(200, "PATCH", "/v1/users/"+demoted.userID, map[string]any{"role": "billing"})
	fresh := &account{client: &client{t: t}, username: demoted.username, password: demoted.password, orgID: v.owner.orgID, userID: demoted.userID}
	fresh.login() // its token says billing
	for _, rt := range routes.Table {
		if rt.Public || rt.Key() == "POST /v1/auth/logout" { // logout would end the session the next routes use
			continue
		}
		t.Run(rt.Key(), func(t *testing.T) {
			path, body, ok := sampleRequest(rt.Key(), demoted, v)
			if !ok {
				t.Fatalf("no sample request for %s: add one to sampleRequest", rt.Key())
			}
			want := (&client{t: t, token: fresh.token}).do(rt.Method, path, body)
			got := (&client{t: t, token: demoted.token}).do(rt.Method, path, body)
			writes := calls.WritesOf(got)
			switch {
			case got.Status >= 500:
				t.Fatalf("demoted member: status %d: %s", got.Status, got.Raw)
			case want.Status == 403 && got.Status != 403:
				t.Errorf("demoted member: status %d where billing gets 403: %s", got.Status, got.Raw)
			case want.Status == 403 && writes != 0:
				t.Errorf("demoted member's refused request sent %d writes to DynamoDB", writes)
			case want.Status != 403 && got.Status == 403:
				t.Errorf("demoted member refused (%s) where billing gets %d", got.Raw, want.Status)
			}
		})
	}
}

// TestMatterTeamIsNotSelfMade: only owners, admins and the matter's
// responsible attorney change who works on a matter; staff and attorneys
// cannot put themselves on a matter to delete it or read its trust ledger.
func TestMatterTeamIsNotSelfMade(t *testing.T) {
	a := signup(t)
	lead, lawyer, clerk, admin := a.member("attorney"), a.member("attorney"), a.member("staff"), a.member("admin")
	c := a.newClient("Team Client")
	m := a.newMatter(c, "responsibleAttorneyId", lead.userID)
	acct := a.trustAccount()
	a.must(201, "POST", "/v1/trust/entries", entry(acct, c, "deposit", 1000, "matterId", m))
	ledger := "/v1/trust/ledgers?matterId=" + m

	tests := []struct {
		name string
		who  *account
		body map[string]any
		want int
	}{
		{"staff puts themselves on the team", clerk, map[string]any{"team": []string{clerk.userID}}, 403},
		{"attorney puts themselves on the team", lawyer, map[string]any{"team": []string{lawyer.userID}}, 403},
		{"attorney makes themselves responsible", lawyer, map[string]any{"responsibleAttorneyId": lawyer.userID}, 403},
		{"staff edits the title, team unchanged", clerk, map[string]any{"title": "Retitled", "team": []string{}}, 200},
		{"responsible attorney staffs the matter", lead, map[string]any{"team": []string{clerk.userID}}, 200},
		{"admin staffs the matter", admin, map[string]any{"team": []string{clerk.userID, lead.userID}}, 200},
		{"staff on the team adds a colleague", clerk, map[string]any{"team": []string{clerk.userID, lead.userID, lawyer.userID}}, 403},
	}
	for _, tt := range tests {
		before := itemCount(t)
		if r := tt.who.do("PATCH", "/v1/matters/"+m, tt.body); r.Status != tt.want {
			t.Fatalf("%s: status %d, want %d: %s", tt.name, r.Status, tt.want, r.Raw)
		}
		if after := itemCount(t); tt.want == 403 && after != before {
			t.Errorf("%s: a refused team change wrote %d items", tt.name, after-before)
		}
	}
	// The attorney who tried to add themselves is still off the matter.
	lawyer.must(403, "GET", ledger, nil)
	// Staff may delete the matters they are on; one they tried to put
	// themselves on stays out of reach.
	other := a.newMatter(c)
	clerk.must(403, "PATCH", "/v1/matters/"+other, map[string]any{"team": []string{clerk.userID}})
	clerk.must(403, "DELETE", "/v1/matters/"+other, nil)
	lead.must(200, "GET", ledger, nil)
	// Nor does a place on the team one gives oneself when opening a matter;
	// the same place given by an owner does.
	own := str(clerk.must(201, "POST", "/v1/matters", map[string]any{"clientId": c, "title": "Self-staffed",
		"team": []string{clerk.userID}}).Body, "id")
	clerk.must(403, "DELETE", "/v1/matters/"+own, nil)
	a.must(200, "PATCH", "/v1/matters/"+own, map[string]any{"team": []string{}})
	a.must(200, "PATCH", "/v1/matters/"+own, map[string]any{"team": []string{clerk.userID}})
	clerk.must(204, "DELETE", "/v1/matters/"+own, nil)
	if r := a.must(200, "GET", "/v1/matters/"+m, nil); strings.Contains(r.Raw, lawyer.userID) {
		t.Errorf("the self-added attorney is on the matter: %s", r.Raw)
	}
	// A demoted admin's old token cannot staff a matter either.
	a.must(200, "PATCH", "/v1/users/"+admin.userID, map[string]any{"role": "staff"})
	admin.must(403, "PATCH", "/v1/matters/"+m, map[string]any{"team": []string{admin.userID}})
}

// TestSummaryActivity: creating, reading aloud (first playback and replay)
// and deleting a summary each leave an activity entry naming who and which
// summary and document, never its text; a removed member's token does none
// of them.
func TestSummaryActivity(t *testing.T) {
	a := signup(t)
	a.must(200, "POST", "/v1/billing/credits/grants", map[string]any{"credits": 10, "reason": "trial"})
	lawyer := a.member("attorney")
	_, matter := clientAndMatter(a)
	doc := readyDocument(t, a, matter, "contract.pdf", fixture(t, "contract.pdf")).docID

	r := lawyer.must(201, "POST", "/v1/documents/"+doc+"/summaries", nil)
	id, text := str(r.Body, "id"), str(r.Body, "summary")
	lawyer.must(200, "GET", "/v1/summaries/"+id+"/speech", nil)
	lawyer.must(200, "GET", "/v1/summaries/"+id+"/speech", nil)
	lawyer.must(204, "DELETE", "/v1/summaries/"+id, nil)

	log := a.must(200, "GET", "/v1/activity?matterId="+matter, nil)
	var actions []string
	for _, it := range log.Body["items"].([]any) {
		e := it.(map[string]any)
		if e["entityType"] != "summary" {
			continue
		}
		actions = append(actions, str(e, "action"))
		if e["entityId"] != id || e["actorId"] != lawyer.userID || e["actorRole"] != "attorney" || !strings.Contains(str(e, "detail"), doc) {
			t.Errorf("entry %v", e)
		}
	}
	if got := strings.Join(actions, ","); got != "summary.deleted,summary.read-aloud,summary.read-aloud,summary.created" {
		t.Errorf("summary entries (newest first) = %s", got)
	}
	if text == "" || strings.Contains(log.Raw, text) {
		t.Errorf("the activity log holds the summary's text (or the summary had none): %q", text)
	}

	// Removed, the same token creates, plays and deletes nothing.
	second := str(a.must(201, "POST", "/v1/documents/"+doc+"/summaries", nil).Body, "id")
	a.must(204, "DELETE", "/v1/users/"+lawyer.userID, nil)
	before := itemCount(t)
	balance, _, _ := creditsOf(t, a)
	lawyer.must(401, "POST", "/v1/documents/"+doc+"/summaries", nil)
	lawyer.must(401, "GET", "/v1/summaries/"+second+"/speech", nil)
	lawyer.must(401, "DELETE", "/v1/summaries/"+second, nil)
	if after, bal := itemCount(t), func() float64 { b, _, _ := creditsOf(t, a); return b }(); after != before || bal != balance {
		t.Errorf("a removed member wrote %d items and spent %v credits", after-before, balance-bal)
	}
}

// TestWritesCheckMembershipInTransaction: the router's read and the write
// are two requests to DynamoDB, and a member can be removed in between. The
// AI writes and a consent change therefore check the membership again in
// their own transaction: called as a member removed after the router let
// them in, each is refused as a role change, writing and spending nothing.
func TestWritesCheckMembershipInTransaction(t *testing.T) {
	a := signup(t)
	a.must(200, "POST", "/v1/billing/credits/grants", map[string]any{"credits": 10, "reason": "trial"})
	lawyer := a.member("attorney")
	_, matter := clientAndMatter(a)
	doc := readyDocument(t, a, matter, "contract.pdf", fixture(t, "contract.pdf")).docID
	sum := str(lawyer.must(201, "POST", "/v1/documents/"+doc+"/summaries", nil).Body, "id")
	a.must(204, "DELETE", "/v1/users/"+lawyer.userID, nil)

	ctx := context.Background()
	svc := summarieswire.Summaries(stack.Deps)
	actor := caller.Caller{OrgID: a.orgID, UserID: lawyer.userID, Role: "attorney", IP: "198.51.100.9"}
	before := itemCount(t)
	balance, _, _ := creditsOf(t, a)
	writes := map[string]func() error{
		"create summary": func() error { _, err := svc.Create(ctx, actor, doc); return err },
		"read aloud": func() error {
			audio, err := svc.Speech(ctx, actor, sum)
			if audio != nil {
				audio.Close()
			}
			return err
		},
		"delete summary": func() error { return svc.Delete(ctx, actor, sum) },
		"record consent": func() error {
			_, err := messagingwire.Messaging(stack.Deps).RecordConsent(ctx, actor,
				messaging.ConsentInput{Phone: "+14155550111", State: "opted_out", Method: "staff"})
			return err
		},
	}
	for name, write := range writes {
		if err := write(); !errors.Is(err, tenant.ErrRoleChanged) {
			t.Errorf("%s by a removed member: err = %v, want tenant.ErrRoleChanged", name, err)
		}
	}
	if after, bal := itemCount(t), func() float64 { b, _, _ := creditsOf(t, a); return b }(); after != before || bal != balance {
		t.Errorf("a removed member wrote %d items and spent %v credits", after-before, balance-bal)
	}
}

// TestStaleMembershipSweep walks every authenticated route as an owner
// removed after the router's membership read (the router still sees an
// owner): every write must check the membership in its own transaction,
// so each route is refused or, if it answers 2xx, DynamoDB carried out no
// write for it. A new route whose write forgets the check fails here.
func TestStaleMembershipSweep(t *testing.T) {
	v := newVictim(t, "staff")
	gone := v.owner.member("owner")
	v.owner.must(204, "DELETE", "/v1/users/"+gone.userID, nil)
	stale.Pretend(gone.userID, access.Owner)
	// Logging out ends one's own session: a removed member may.
	selfService := map[string]bool{"POST /v1/auth/logout": true}
	for _, rt := range routes.Table {
		if rt.Public || selfService[rt.Key()] {
			continue
		}
		t.Run(rt.Key(), func(t *testing.T) {
			path, body, ok := sampleRequest(rt.Key(), gone, v)
			if !ok {
				t.Fatalf("no sample request for %s: add one to sampleRequest", rt.Key())
			}
			r := (&client{t: t, token: gone.token}).do(rt.Method, path, body)
			if r.Status >= 500 {
				t.Fatalf("status %d: %s", r.Status, r.Raw)
			}
			if n := calls.LandedWritesOf(r); n != 0 {
				t.Errorf("a member removed before the write: status %d and %d writes carried out: %s", r.Status, n, r.Raw)
			}
			if rt.Method != "GET" && r.Status < 300 {
				t.Errorf("a member removed before the write: status %d: %s", r.Status, r.Raw)
			}
		})
	}
}

// plusMemberRead is what a request costs in DynamoDB calls with the
// router's read of the caller's member item: one GetItem for every
// authenticated request.
func plusMemberRead(want map[string]int) map[string]int {
	out := maps.Clone(want)
	out["GetItem"]++
	return out
}
