package devstack

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestMeEmailChange: a new email is only pending until the link sent to
// it is confirmed, so a member cannot take an address that is not theirs:
// its owner can still sign up with it (and then the confirmation answers
// 409). A confirmed change moves the login; a link works once and for 24
// hours.
func TestMeEmailChange(t *testing.T) {
	a := signup(t)
	m := a.member("staff")
	anon := &client{t: t, ip: nextIP()}
	change := func(addr string) string {
		t.Helper()
		r := m.must(200, "PATCH", "/v1/me", map[string]any{"email": strings.ToUpper(addr), "currentPassword": m.password})
		if str(r.Body, "email") != m.email || str(r.Body, "pendingEmail") != addr {
			t.Errorf("PATCH email %s = %s, want the email unchanged and %s pending", addr, r.Raw, addr)
		}
		if it := lastEmailTo(t, m.email); !strings.Contains(it.Subject, "change of your Matterly email was requested") {
			t.Errorf("the notice to the old address: %q", it.Subject)
		}
		return lastLink(t, addr, "/confirm-email?token=")
	}

	// Someone else's address: asking for it claims nothing.
	victim := fmt.Sprintf("victim-%d@example.com", time.Now().UnixNano())
	stolen := change(victim)
	anon.must(401, "POST", "/v1/auth/login", map[string]any{"login": victim, "password": m.password})
	anon.must(200, "POST", "/v1/auth/login", map[string]any{"login": m.email, "password": m.password})
	anon.must(201, "POST", "/v1/auth/signup", map[string]any{"orgName": "Victim Firm", "name": "Vic Tim", "email": victim,
		"username": fmt.Sprintf("victim_%d", time.Now().UnixNano()%1e6), "password": "amber falcon quarry whistle",
		"timezone": "America/New_York"})
	if r := anon.must(409, "POST", "/v1/me/email/confirm", map[string]any{"token": stolen}); !strings.Contains(r.Raw, `"field":"email"`) {
		t.Errorf("confirming an address taken meanwhile: %s", r.Raw)
	}
	if r := m.must(200, "GET", "/v1/me", nil); !strings.Contains(r.Raw, m.email) {
		t.Errorf("after a refused confirmation: %s", r.Raw)
	}

	// The member's own new address: the link moves the login, once.
	mine := "moved-" + m.email
	link := change(mine)
	r := anon.must(200, "POST", "/v1/me/email/confirm", map[string]any{"token": link})
	if str(r.Body, "email") != mine || str(r.Body, "id") != m.userID {
		t.Errorf("after the confirmation: %s", r.Raw)
	}
	anon.must(400, "POST", "/v1/me/email/confirm", map[string]any{"token": link}) // replayed
	anon.must(401, "POST", "/v1/auth/login", map[string]any{"login": m.email, "password": m.password})
	anon.must(200, "POST", "/v1/auth/login", map[string]any{"login": mine, "password": m.password})
	if it := lastEmailTo(t, m.email); !strings.Contains(it.Subject, "email was changed") {
		t.Errorf("the notice of the change: %q", it.Subject)
	}
	m.email = mine

	// Expired after 24 hours; forged and empty links are refused alike.
	late := change("late-" + mine)
	clock.Advance(24*time.Hour + time.Second)
	anon.must(400, "POST", "/v1/me/email/confirm", map[string]any{"token": late})
	anon.must(400, "POST", "/v1/me/email/confirm", map[string]any{"token": late + "x"})
	anon.must(422, "POST", "/v1/me/email/confirm", map[string]any{"token": ""})
	anon.must(200, "POST", "/v1/auth/login", map[string]any{"login": mine, "password": m.password})
}
