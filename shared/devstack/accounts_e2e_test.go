package devstack

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// The account-security flows over HTTP, with the emailed links read from
// the outbox. They read the outbox and move the clock, so they stay
// sequential.

// lastLink is the token of the newest email to `to` holding a link to
// publicURL+prefix ("/accept-invite?token=").
func lastLink(t *testing.T, to, prefix string) string {
	t.Helper()
	tok := ""
	for _, it := range stack.Outbox.Items() { // newest first
		if it.To != to {
			continue
		}
		if _, link, ok := strings.Cut(it.Body, publicURL+prefix); ok {
			tok = strings.Fields(link)[0]
			break
		}
	}
	if tok == "" {
		t.Fatalf("no email to %s with a %s link", to, prefix)
	}
	return tok
}

// invite has a invite a new address with role; it returns the member's id and address.
func (a *account) invite(role string) (userID, email string) {
	a.t.Helper()
	email = fmt.Sprintf("invitee%d-%d@example.com", seq.Add(1), time.Now().UnixNano())
	r := a.must(201, "POST", "/v1/users", map[string]any{"name": "Ines Invitee", "email": email, "role": role})
	if str(r.Body, "status") != "invited" || r.Body["username"] != nil {
		a.t.Fatalf("invited member = %s", r.Raw)
	}
	return str(r.Body, "id"), email
}

func acceptBody(tok string) map[string]any {
	return map[string]any{"token": tok, "username": fmt.Sprintf("invitee_%d", seq.Add(1)), "password": "maroon kettle lantern oboe"}
}

// TestInvitationAccept: an owner invites a member by email; until they
// accept, the address cannot sign in; the link signs them in once and makes
// them an active member who logs in with what they chose.
func TestInvitationAccept(t *testing.T) {
	owner := signup(t)
	userID, email := owner.invite("attorney")
	tok := lastLink(t, email, "/accept-invite?token=")

	anon := &client{t: t, ip: nextIP()}
	anon.must(401, "POST", "/v1/auth/login", map[string]any{"login": email, "password": "maroon kettle lantern oboe"})

	m := &account{client: &client{t: t, ip: nextIP()}}
	body := acceptBody(tok)
	r := m.must(200, "POST", "/v1/auth/invitations/accept", body)
	if str(r.Body, "user", "id") != userID || str(r.Body, "user", "status") != "active" || str(r.Body, "user", "username") != body["username"] ||
		str(r.Body, "accessToken") == "" || m.refresh == "" {
		t.Fatalf("accept = %s (refresh cookie %v)", r.Raw, m.refresh != "")
	}
	m.token = str(r.Body, "accessToken")
	if me := m.must(200, "GET", "/v1/me", nil); str(me.Body, "user", "role") != "attorney" || str(me.Body, "org", "id") != owner.orgID {
		t.Errorf("me = %s", me.Raw)
	}
	// The link works once.
	again := acceptBody(tok)
	if r := anon.do("POST", "/v1/auth/invitations/accept", again); r.Status != 400 {
		t.Errorf("replayed link = %d, want 400: %s", r.Status, r.Raw)
	}
	anon.must(200, "POST", "/v1/auth/login", map[string]any{"login": email, "password": body["password"]})
	anon.must(200, "POST", "/v1/auth/login", map[string]any{"login": body["username"], "password": body["password"]})
	// Resending to a member who accepted is refused.
	owner.must(409, "POST", "/v1/users/"+userID+"/invitation", nil)
}

// TestInvitationResendAndDelete: a resend voids the earlier link, deleting
// the invited member voids theirs, and an expired link is refused.
func TestInvitationResendAndDelete(t *testing.T) {
	owner := signup(t)
	anon := &client{t: t, ip: nextIP()}

	userID, email := owner.invite("staff")
	first := lastLink(t, email, "/accept-invite?token=")
	owner.must(204, "POST", "/v1/users/"+userID+"/invitation", nil)
	second := lastLink(t, email, "/accept-invite?token=")
	if first == second {
		t.Fatal("the resend sent the same link")
	}
	anon.must(400, "POST", "/v1/auth/invitations/accept", acceptBody(first))
	owner.must(204, "DELETE", "/v1/users/"+userID, nil)
	anon.must(400, "POST", "/v1/auth/invitations/accept", acceptBody(second))

	userID, email = owner.invite("staff")
	tok := lastLink(t, email, "/accept-invite?token=")
	clock.Advance(7*24*time.Hour + time.Minute)
	anon.must(400, "POST", "/v1/auth/invitations/accept", acceptBody(tok))
	owner.login() // the clock moved past the access token
	owner.must(204, "POST", "/v1/users/"+userID+"/invitation", nil)
	anon.must(200, "POST", "/v1/auth/invitations/accept", acceptBody(lastLink(t, email, "/accept-invite?token=")))

	// Forged links: another member's id, a wrong secret, garbage.
	forged := owner.orgID + "." + owner.userID + "." + strings.Repeat("A", 43)
	for _, tok := range []string{forged, "not-a-token", tok + "x"} {
		anon.must(400, "POST", "/v1/auth/invitations/accept", acceptBody(tok))
	}
}

// TestInvitationNoEnumeration: inviting an address that already has an
// account (here, another org's owner) answers exactly as a new one; the
// address's owner, who alone reads the link, learns it cannot be used;
// removing that invitation leaves the existing account's login alone.
func TestInvitationNoEnumeration(t *testing.T) {
	owner := signup(t)
	other := signup(t)
	fresh := owner.must(201, "POST", "/v1/users", map[string]any{"name": "Ines Invitee", "email": fmt.Sprintf("new%d@example.com", seq.Add(1)), "role": "staff"})
	known := owner.must(201, "POST", "/v1/users", map[string]any{"name": "Ines Invitee", "email": strings.ToUpper(other.email), "role": "staff"})
	if keys(fresh.Body) != keys(known.Body) || str(known.Body, "status") != "invited" {
		t.Errorf("invite of a registered address differs:\nnew   %s\nknown %s", fresh.Raw, known.Raw)
	}
	// The owner of the address itself is also invited the same way.
	self := owner.must(201, "POST", "/v1/users", map[string]any{"name": "Olive Again", "email": owner.email, "role": "staff"})
	if keys(self.Body) != keys(fresh.Body) {
		t.Errorf("invite of a member's own address differs: %s", self.Raw)
	}

	anon := &client{t: t, ip: nextIP()}
	r := anon.do("POST", "/v1/auth/invitations/accept", acceptBody(lastLink(t, other.email, "/accept-invite?token=")))
	if r.Status != 409 || !strings.Contains(r.Raw, `"field":"email"`) {
		t.Errorf("accepting with a registered address = %d: %s", r.Status, r.Raw)
	}
	owner.must(204, "DELETE", "/v1/users/"+str(known.Body, "id"), nil)
	other.login() // by username
	anon.must(200, "POST", "/v1/auth/login", map[string]any{"login": other.email, "password": other.password})
}

// TestInvitationOwners: an admin cannot invite an owner; an invited owner
// counts as an owner only once they accept (the last active owner stays
// protected meanwhile, and removing the invitation needs no other owner).
func TestInvitationOwners(t *testing.T) {
	owner := signup(t)
	admin := owner.member("admin")
	admin.must(403, "POST", "/v1/users", map[string]any{"name": "Ines Invitee", "email": fmt.Sprintf("x%d@example.com", seq.Add(1)), "role": "owner"})

	userID, _ := owner.invite("owner")
	owner.must(409, "PATCH", "/v1/users/"+owner.userID, map[string]any{"role": "admin"}) // the invitee does not count yet
	owner.must(204, "DELETE", "/v1/users/"+userID, nil)

	_, email := owner.invite("owner")
	(&client{t: t, ip: nextIP()}).must(200, "POST", "/v1/auth/invitations/accept", acceptBody(lastLink(t, email, "/accept-invite?token=")))
	owner.must(200, "PATCH", "/v1/users/"+owner.userID, map[string]any{"role": "admin"}) // now another owner remains
}

// keys lists an object's keys, sorted, for comparing answers' shapes.
func keys(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, ",")
}

// TestPasswordChange: the current password is checked and the sign-up
// rules apply to the new one; a change ends every session of the member
// (another device's refresh fails) but the caller's, whose new session
// comes in the cookie, and the member is emailed about it.
func TestPasswordChange(t *testing.T) {
	a := signup(t)
	other := &account{client: &client{t: t, ip: nextIP()}, username: a.username, password: a.password}
	other.login()
	newPW := "amber falcon quarry whistle"

	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"wrong current password", map[string]any{"currentPassword": "not my password at all", "newPassword": newPW}, "currentPassword"},
		{"weak new password", map[string]any{"currentPassword": a.password, "newPassword": "password1234"}, "newPassword"},
		{"new password is the org's name", map[string]any{"currentPassword": a.password, "newPassword": strings.Repeat("Firm ", 3)}, "newPassword"},
		{"same password", map[string]any{"currentPassword": a.password, "newPassword": a.password}, "newPassword"},
		{"missing current password", map[string]any{"newPassword": newPW}, "currentPassword"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do("POST", "/v1/me/password", tt.body)
			if r.Status != 422 || !strings.Contains(r.Raw, `"field":"`+tt.field+`"`) {
				t.Errorf("= %d, want 422 naming %s: %s", r.Status, tt.field, r.Raw)
			}
		})
	}
	a.must(200, "POST", "/v1/auth/refresh", nil) // nothing ended yet
	other.must(200, "POST", "/v1/auth/refresh", nil)

	oldRefresh := a.refresh
	a.must(204, "POST", "/v1/me/password", map[string]any{"currentPassword": a.password, "newPassword": newPW})
	if a.refresh == oldRefresh || a.refresh == "" {
		t.Fatal("no new refresh cookie for the caller")
	}
	other.must(401, "POST", "/v1/auth/refresh", nil)
	a.must(200, "POST", "/v1/auth/refresh", nil)
	anon := &client{t: t, ip: nextIP()}
	anon.must(401, "POST", "/v1/auth/login", map[string]any{"login": a.username, "password": a.password})
	anon.must(200, "POST", "/v1/auth/login", map[string]any{"login": a.email, "password": newPW})
	found := false
	for _, it := range stack.Outbox.Items() {
		found = found || (it.To == a.email && it.Subject == "Your Matterly password was changed" && !strings.Contains(it.Body, newPW))
	}
	if !found {
		t.Error("no password-changed notice in the outbox")
	}
}

// TestPasswordReset: every request answers 202 with the same body; a
// member gets a single-use link valid 30 minutes, whose use sets the
// password and ends every session; used, expired, forged and superseded
// links answer 400 and change nothing; requests are throttled per address
// (quietly) and per source address (429).
func TestPasswordReset(t *testing.T) {
	a := signup(t)
	other := &account{client: &client{t: t, ip: nextIP()}, username: a.username, password: a.password}
	other.login()
	anon := &client{t: t, ip: nextIP()}
	newPW := "amber falcon quarry whistle"

	known := anon.must(202, "POST", "/v1/auth/password-reset", map[string]any{"email": strings.ToUpper(a.email)})
	unknown := anon.must(202, "POST", "/v1/auth/password-reset", map[string]any{"email": fmt.Sprintf("nobody%d@example.com", seq.Add(1))})
	if known.Raw != unknown.Raw {
		t.Errorf("answers differ:\nknown   %s\nunknown %s", known.Raw, unknown.Raw)
	}
	tok := lastLink(t, a.email, "/reset-password?token=")

	// A weak password is refused and spends nothing.
	r := anon.do("POST", "/v1/auth/password-reset/confirm", map[string]any{"token": tok, "newPassword": "password1234"})
	if r.Status != 422 || !strings.Contains(r.Raw, `"field":"newPassword"`) {
		t.Fatalf("weak password = %d: %s", r.Status, r.Raw)
	}
	anon.must(204, "POST", "/v1/auth/password-reset/confirm", map[string]any{"token": tok, "newPassword": newPW})
	other.must(401, "POST", "/v1/auth/refresh", nil) // every session ended
	a.must(401, "POST", "/v1/auth/refresh", nil)
	anon.must(200, "POST", "/v1/auth/login", map[string]any{"login": a.username, "password": newPW})

	// The used link, forged ones: 400 and the password stays.
	for name, bad := range map[string]string{"used": tok, "forged": a.orgID + "." + a.userID + "." + strings.Repeat("A", 43),
		"wrong secret": tok[:len(tok)-2] + "AA", "garbage": "nope"} {
		if r := anon.do("POST", "/v1/auth/password-reset/confirm", map[string]any{"token": bad, "newPassword": "cobalt meadow sparrow violin"}); r.Status != 400 {
			t.Errorf("%s link = %d, want 400: %s", name, r.Status, r.Raw)
		}
	}
	// Two links out; using one voids the other.
	anon.must(202, "POST", "/v1/auth/password-reset", map[string]any{"email": a.email})
	first := lastLink(t, a.email, "/reset-password?token=")
	anon.must(202, "POST", "/v1/auth/password-reset", map[string]any{"email": a.email})
	second := lastLink(t, a.email, "/reset-password?token=")
	anon.must(204, "POST", "/v1/auth/password-reset/confirm", map[string]any{"token": second, "newPassword": "cobalt meadow sparrow violin"})
	anon.must(400, "POST", "/v1/auth/password-reset/confirm", map[string]any{"token": first, "newPassword": newPW})

	// Expired after 30 minutes. (The address's budget of 3 an hour is
	// spent now: the next request is dropped quietly.)
	clock.Advance(time.Hour)
	anon.must(202, "POST", "/v1/auth/password-reset", map[string]any{"email": a.email})
	expiring := lastLink(t, a.email, "/reset-password?token=")
	clock.Advance(31 * time.Minute)
	anon.must(400, "POST", "/v1/auth/password-reset/confirm", map[string]any{"token": expiring, "newPassword": newPW})
	anon.must(200, "POST", "/v1/auth/login", map[string]any{"login": a.username, "password": "cobalt meadow sparrow violin"})

	clock.Advance(time.Hour)
	before := len(stack.Outbox.Items())
	for range 3 {
		anon.must(202, "POST", "/v1/auth/password-reset", map[string]any{"email": a.email})
	}
	anon.must(202, "POST", "/v1/auth/password-reset", map[string]any{"email": a.email}) // quietly dropped
	if sent := len(stack.Outbox.Items()) - before; sent != 3 {
		t.Errorf("%d reset emails in a row, want 3 (per-address throttle)", sent)
	}
	ip := &client{t: t, ip: nextIP()}
	for i := range 20 {
		ip.must(202, "POST", "/v1/auth/password-reset", map[string]any{"email": fmt.Sprintf("probe%d-%d@example.com", i, seq.Add(1))})
	}
	if r := ip.do("POST", "/v1/auth/password-reset", map[string]any{"email": a.email}); r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Errorf("21st request from one address = %d, want 429 with Retry-After", r.Status)
	}
}

// TestSessionsEndEverywhere: DELETE /v1/me/sessions signs out every other
// device at once (their refresh fails) and keeps the caller signed in
// through the new cookie; the account events are in the activity log.
func TestSessionsEndEverywhere(t *testing.T) {
	a := signup(t)
	phone := &account{client: &client{t: t, ip: nextIP()}, username: a.username, password: a.password}
	phone.login()
	laptop := &account{client: &client{t: t, ip: nextIP()}, username: a.username, password: a.password}
	laptop.login()

	a.must(204, "DELETE", "/v1/me/sessions", nil)
	phone.must(401, "POST", "/v1/auth/refresh", nil)
	laptop.must(401, "POST", "/v1/auth/refresh", nil)
	a.must(200, "POST", "/v1/auth/refresh", nil)

	// The log holds every account event of the org, naming the member only.
	_, email := a.invite("staff")
	anon := &client{t: t, ip: nextIP()}
	anon.must(200, "POST", "/v1/auth/invitations/accept", acceptBody(lastLink(t, email, "/accept-invite?token=")))
	a.must(204, "POST", "/v1/me/password", map[string]any{"currentPassword": a.password, "newPassword": "amber falcon quarry whistle"})
	anon.must(202, "POST", "/v1/auth/password-reset", map[string]any{"email": a.email})
	anon.must(204, "POST", "/v1/auth/password-reset/confirm", map[string]any{"token": lastLink(t, a.email, "/reset-password?token="),
		"newPassword": "cobalt meadow sparrow violin"})
	a.password = "cobalt meadow sparrow violin"
	a.login()
	r := a.must(200, "GET", "/v1/activity", nil)
	for _, action := range []string{"user.sessions_ended", "user.invited", "user.invitation_accepted", "user.password_changed",
		"user.password_reset_requested", "user.password_reset"} {
		if !strings.Contains(r.Raw, `"action":"`+action+`"`) {
			t.Errorf("no %s in the activity log", action)
		}
	}
	for _, secret := range []string{"amber falcon", "cobalt meadow", "token="} {
		if strings.Contains(r.Raw, secret) {
			t.Errorf("the activity log holds %q", secret)
		}
	}
}
