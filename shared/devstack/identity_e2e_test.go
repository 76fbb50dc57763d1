package devstack

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSignupLoginMeRefreshLogout(t *testing.T) {
	t.Parallel()
	a := signup(t)
	// A login sets the refresh cookie with the contract's attributes.
	c := &client{t: t}
	r := c.must(200, "POST", "/v1/auth/login", map[string]any{"login": strings.ToUpper(a.email), "password": a.password})
	setCookie := r.Header.Get("Set-Cookie")
	for _, attr := range []string{"matterly_refresh=", "HttpOnly", "Secure", "SameSite=Strict", "Path=/v1/auth"} {
		if !strings.Contains(setCookie, attr) {
			t.Errorf("Set-Cookie %q lacks %s", setCookie, attr)
		}
	}
	if str(r.Body, "user", "role") != "owner" || str(r.Body, "user", "orgId") != a.orgID {
		t.Errorf("login user = %v", r.Body["user"])
	}
	if strings.Contains(r.Raw, "passwordHash") || strings.Contains(r.Raw, "argon2") {
		t.Error("login response leaks the password hash")
	}
	c.token = str(r.Body, "accessToken")
	me := c.must(200, "GET", "/v1/me", nil)
	if str(me.Body, "user", "id") != a.userID || str(me.Body, "org", "timezone") != "America/New_York" {
		t.Errorf("me = %s", me.Raw)
	}

	// Login by username, any case.
	c2 := &client{t: t}
	c2.must(200, "POST", "/v1/auth/login", map[string]any{"login": strings.ToUpper(a.username), "password": a.password})

	// Refresh rotates the cookie and gives a working access token.
	first := c.refresh
	rr := c.must(200, "POST", "/v1/auth/refresh", nil)
	if c.refresh == first || c.refresh == "" {
		t.Fatal("refresh did not rotate the refresh token")
	}
	if str(rr.Body, "accessToken") == "" {
		t.Fatal("refresh gave no access token")
	}
	rotated := c.refresh

	// Replaying the spent token revokes the whole family: the rotated one dies too.
	thief := &client{t: t, refresh: first}
	r = thief.must(401, "POST", "/v1/auth/refresh", nil)
	if !strings.Contains(r.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("a refused refresh does not clear the cookie: %q", r.Header.Get("Set-Cookie"))
	}
	c.refresh = rotated
	c.must(401, "POST", "/v1/auth/refresh", nil)

	// Logout revokes the other session's refresh token and clears the cookie.
	r = c2.do("POST", "/v1/auth/logout", nil)
	if r.Status != 401 {
		t.Errorf("logout without access token = %d, want 401", r.Status)
	}
	c2.token = str(c2.must(200, "POST", "/v1/auth/login", map[string]any{"login": a.username, "password": a.password}).Body, "accessToken")
	c2tok := c2.refresh
	r = c2.must(204, "POST", "/v1/auth/logout", nil)
	if !strings.Contains(r.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("logout did not clear the cookie: %q", r.Header.Get("Set-Cookie"))
	}
	c2.refresh = c2tok
	c2.must(401, "POST", "/v1/auth/refresh", nil)
}

func TestLoginFailuresLookAlike(t *testing.T) {
	a := signup(t)
	// Each from an address of its own: a throttle bucket's first take costs
	// one write and later ones two, so both start from fresh buckets.
	wrong := (&client{t: t, ip: nextIP()}).do("POST", "/v1/auth/login", map[string]any{"login": a.username, "password": "not the right password"})
	unknown := (&client{t: t, ip: nextIP()}).do("POST", "/v1/auth/login", map[string]any{"login": "nobody-" + a.username, "password": "not the right password"})
	if wrong.Status != 401 || unknown.Status != 401 {
		t.Fatalf("statuses %d and %d, want 401 and 401", wrong.Status, unknown.Status)
	}
	if str(wrong.Body, "detail") != str(unknown.Body, "detail") || str(wrong.Body, "type") != str(unknown.Body, "type") {
		t.Errorf("bodies differ: %s vs %s", wrong.Raw, unknown.Raw)
	}
	// Same work: the same DynamoDB calls for an unknown account as for a wrong password.
	if w, u := calls.Of(wrong), calls.Of(unknown); fmt.Sprint(w) != fmt.Sprint(u) || len(w) == 0 {
		t.Errorf("DynamoDB calls: wrong password %v, unknown user %v", w, u)
	}
}

func TestLoginThrottle(t *testing.T) {
	clock.StartOfWindow(15 * time.Minute)
	a := signup(t)
	c := &client{t: t}
	for i := 0; i < 10; i++ {
		c.must(401, "POST", "/v1/auth/login", map[string]any{"login": a.username, "password": "wrong password number x"})
	}
	r := c.do("POST", "/v1/auth/login", map[string]any{"login": a.username, "password": a.password})
	if r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("11th login = %d (Retry-After %q), want 429 with Retry-After", r.Status, r.Header.Get("Retry-After"))
	}
	// Another account from the same address is not locked out by these.
	b := signup(t)
	c.must(200, "POST", "/v1/auth/login", map[string]any{"login": b.username, "password": b.password})
	// The window passes.
	clock.Advance(16 * time.Minute)
	c.must(200, "POST", "/v1/auth/login", map[string]any{"login": a.username, "password": a.password})
}

func TestAccessTokenExpires(t *testing.T) {
	a := signup(t)
	a.must(200, "GET", "/v1/me", nil)
	clock.Advance(16 * time.Minute)
	a.must(401, "GET", "/v1/me", nil)
	a.must(200, "POST", "/v1/auth/refresh", nil) // the session lives on
}

func TestSignupValidation(t *testing.T) {
	a := signup(t)
	valid := func() map[string]any {
		return map[string]any{"orgName": "Firm", "name": "New Person", "email": "fresh@example.com", "username": "fresh_person",
			"password": "correct horse battery staple"}
	}
	tests := []struct {
		name   string
		change map[string]any
		status int
		field  string
	}{
		{"weak password", map[string]any{"password": "password1234"}, 422, "password"},
		{"short password", map[string]any{"password": "abc"}, 422, "password"},
		{"bad email", map[string]any{"email": "not-an-email"}, 422, "email"},
		{"bad username", map[string]any{"username": "a b"}, 422, "username"},
		{"bad phone", map[string]any{"phone": "555-1234"}, 422, "phone"},
		{"bad timezone", map[string]any{"timezone": "Mars/Olympus"}, 422, "timezone"},
		{"missing org", map[string]any{"orgName": ""}, 422, "orgName"},
		{"taken email any case", map[string]any{"email": strings.ToUpper(a.email)}, 409, "email"},
		{"taken username any case", map[string]any{"username": strings.ToUpper(a.username)}, 409, "username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := valid()
			for k, v := range tt.change {
				body[k] = v
			}
			n := itemCount(t)
			r := (&client{t: t, ip: nextIP()}).do("POST", "/v1/auth/signup", body)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Raw)
			}
			if !strings.Contains(r.Raw, `"field":"`+tt.field+`"`) {
				t.Errorf("problem does not name %s: %s", tt.field, r.Raw)
			}
			// A sign-up past validation takes a sign-up token of its (fresh)
			// address, refused or not: that is the one item it writes.
			want := 0
			if tt.status == 409 {
				want = 1
			}
			if got := itemCount(t) - n; got != want {
				t.Errorf("refused signup wrote %d items, want %d", got, want)
			}
		})
	}
}

func TestMemberRoles(t *testing.T) {
	t.Parallel()
	owner := signup(t)
	admin := owner.member("admin")
	staff := owner.member("staff")

	staff.must(200, "GET", "/v1/users", nil)
	staff.must(403, "POST", "/v1/users", map[string]any{"name": "X", "email": "x@example.com", "username": "xx_x", "role": "staff", "password": "violet tractor umbrella mosaic"})
	staff.must(403, "PATCH", "/v1/users/"+staff.userID, map[string]any{"role": "admin"})
	staff.must(403, "PATCH", "/v1/org", map[string]any{"name": "Hijacked"})

	// Admins manage non-owners but never grant or touch ownership, nor raise themselves.
	admin.must(403, "POST", "/v1/users", map[string]any{"name": "X", "email": "x2@example.com", "username": "xx_x2", "role": "owner", "password": "violet tractor umbrella mosaic"})
	admin.must(403, "PATCH", "/v1/users/"+admin.userID, map[string]any{"role": "owner"})
	admin.must(403, "PATCH", "/v1/users/"+owner.userID, map[string]any{"role": "staff"})
	admin.must(403, "DELETE", "/v1/users/"+owner.userID, nil)
	r := admin.must(200, "PATCH", "/v1/users/"+staff.userID, map[string]any{"role": "billing"})
	if str(r.Body, "role") != "billing" {
		t.Errorf("role = %q", str(r.Body, "role"))
	}
	admin.must(422, "PATCH", "/v1/users/"+staff.userID, map[string]any{"role": "emperor"})

	// Admins never touch an owner's record, role or not.
	admin.must(403, "PATCH", "/v1/users/"+owner.userID, map[string]any{"name": "Pwned"})
	admin.must(403, "PATCH", "/v1/users/"+owner.userID, map[string]any{"role": "owner", "name": "Pwned"})
	// Ids that cannot be ours are simply not found.
	admin.must(404, "PATCH", "/v1/users/"+strings.Repeat("x", 1100), map[string]any{"name": "X"})

	// A removed or demoted admin's still-valid access token changes nothing.
	exAdmin := owner.member("admin")
	demoted := owner.member("admin")
	owner.must(204, "DELETE", "/v1/users/"+exAdmin.userID, nil)
	owner.must(200, "PATCH", "/v1/users/"+demoted.userID, map[string]any{"role": "staff"})
	exAdmin.must(401, "PATCH", "/v1/org", map[string]any{"name": "Hijacked"}) // a removed member's token is no longer valid
	demoted.must(403, "PATCH", "/v1/org", map[string]any{"name": "Hijacked"})
	if got := str(owner.must(200, "GET", "/v1/org", nil).Body, "name"); got == "Hijacked" {
		t.Error("a former admin renamed the org")
	}

	// The last owner can be neither demoted nor removed.
	owner.must(409, "PATCH", "/v1/users/"+owner.userID, map[string]any{"role": "admin"})
	owner.must(409, "DELETE", "/v1/users/"+owner.userID, nil)
	owner.must(200, "PATCH", "/v1/users/"+admin.userID, map[string]any{"role": "owner"})
	owner.must(200, "PATCH", "/v1/users/"+owner.userID, map[string]any{"role": "admin"})
	admin.must(409, "PATCH", "/v1/users/"+admin.userID, map[string]any{"role": "staff"})

	// A removed member can neither use their session nor log in.
	admin.must(204, "DELETE", "/v1/users/"+staff.userID, nil)
	staff.must(401, "POST", "/v1/auth/refresh", nil)
	staff.must(401, "POST", "/v1/auth/login", map[string]any{"login": staff.username, "password": staff.password})
	staff.must(401, "GET", "/v1/me", nil)
	admin.must(404, "DELETE", "/v1/users/"+staff.userID, nil)
}

func TestLastOwnerUnderConcurrency(t *testing.T) {
	t.Parallel()
	a := signup(t)
	b := a.member("owner")
	// Both owners demote each other at once: exactly one may succeed.
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i, pair := range [][2]*account{{a, b}, {b, a}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = pair[0].do("PATCH", "/v1/users/"+pair[1].userID, map[string]any{"role": "admin"}).Status
		}()
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == 200 {
			ok++
		} else if s != 409 && s != 403 {
			t.Errorf("status %d, want 200, 403 or 409", s)
		}
	}
	if ok != 1 {
		t.Fatalf("%d demotions succeeded (%v), want exactly 1", ok, statuses)
	}
}

func TestOrgSettings(t *testing.T) {
	t.Parallel()
	a := signup(t)
	b := signup(t)
	// The number and the service are the platform's, assigned to a.
	number := str(a.must(201, "POST", "/v1/messaging/sms-numbers", map[string]any{}).Body, "smsFromNumber")
	mg := str(a.must(201, "POST", "/v1/messaging/sms-services", map[string]any{}).Body, "twilioMessagingServiceSid")
	a.must(200, "PATCH", "/v1/org", map[string]any{"smsFromNumber": "", "twilioMessagingServiceSid": ""})
	r := a.must(200, "PATCH", "/v1/org", map[string]any{"businessName": "Acme Legal LLP", "smsSenderName": "Acme Law",
		"smsFromNumber": number, "twilioMessagingServiceSid": mg, "timezone": "Europe/Paris"})
	if str(r.Body, "timezone") != "Europe/Paris" || str(r.Body, "smsFromNumber") != number || str(r.Body, "twilioMessagingServiceSid") != mg {
		t.Errorf("org = %s", r.Raw)
	}
	a.must(422, "PATCH", "/v1/org", map[string]any{"timezone": "Nowhere/Land"})
	a.must(422, "PATCH", "/v1/org", map[string]any{"smsFromNumber": "4155550100"})
	a.must(422, "PATCH", "/v1/org", map[string]any{"name": ""})
	// First come is not first served: a number or service the platform did
	// not assign to the org is refused, held by another org or by none.
	for _, patch := range []map[string]any{{"smsFromNumber": number}, {"twilioMessagingServiceSid": mg},
		{"smsFromNumber": "+14155550100"}, {"twilioMessagingServiceSid": "MG" + strings.Repeat("a", 32)}} {
		for k := range patch {
			if r := b.must(422, "PATCH", "/v1/org", patch); !strings.Contains(r.Raw, `"field":"`+k+`"`) {
				t.Errorf("b sets %v: %s", patch, r.Raw)
			}
		}
	}
	a.must(422, "PATCH", "/v1/org", map[string]any{"smsFromNumber": "+14155550100"})
	if got := str(b.must(200, "GET", "/v1/org", nil).Body, "smsFromNumber"); got != "" {
		t.Errorf("b's smsFromNumber = %q after refusals", got)
	}
	if got := str(a.must(200, "GET", "/v1/org", nil).Body, "businessName"); got != "Acme Legal LLP" {
		t.Errorf("businessName = %q", got)
	}
}

func TestUsersPagination(t *testing.T) {
	t.Parallel()
	a := signup(t)
	want := map[string]bool{a.userID: true}
	for i := 0; i < 4; i++ {
		want[a.member("staff").userID] = true
	}
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		path := "/v1/users?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := a.must(200, "GET", path, nil)
		items, _ := r.Body["items"].([]any)
		for _, it := range items {
			id := it.(map[string]any)["id"].(string)
			if seen[id] {
				t.Errorf("user %s on two pages", id)
			}
			seen[id] = true
		}
		pages++
		if cursor = str(r.Body, "nextCursor"); cursor == "" {
			break
		}
		if pages == 1 {
			// Added while paging: must not disturb what follows.
			want[a.member("billing").userID] = true
		}
	}
	if len(seen) != len(want) || pages != 3 {
		t.Errorf("saw %d users in %d pages, want %d in 3", len(seen), pages, len(want))
	}
	first := a.must(200, "GET", "/v1/users?limit=1", nil)
	cur := str(first.Body, "nextCursor")
	a.must(400, "GET", "/v1/users?cursor="+cur[:len(cur)-2]+"xx", nil)
	signup(t).must(400, "GET", "/v1/users?cursor="+cur, nil)
	a.must(422, "GET", "/v1/users?limit=101", nil)
	a.must(422, "GET", "/v1/users?limit=0", nil)
}

// TestOwnerCountSurvivesConcurrentOrgEdits promotes members to owner while
// the org's settings are edited at the same time: the settings edit must
// never write back a stale owner count, so exactly all but one owner can be
// demoted afterwards.
func TestOwnerCountSurvivesConcurrentOrgEdits(t *testing.T) {
	t.Parallel()
	a := signup(t)
	members := make([]*account, 4)
	for i := range members {
		members[i] = a.member("staff")
	}
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if s := a.do("PATCH", "/v1/users/"+m.userID, map[string]any{"role": "owner"}).Status; s != 200 {
				t.Errorf("promote = %d", s)
			}
		}()
		go func() {
			defer wg.Done()
			// A concurrent settings edit may lose the optimistic check (409), never corrupt.
			if s := a.do("PATCH", "/v1/org", map[string]any{"industry": fmt.Sprintf("law %d", i)}).Status; s != 200 && s != 409 {
				t.Errorf("org edit = %d", s)
			}
		}()
	}
	wg.Wait()
	demoted := 0
	for _, acc := range append(members, a) {
		switch s := a.do("PATCH", "/v1/users/"+acc.userID, map[string]any{"role": "admin"}).Status; s {
		case 200:
			demoted++
		case 409:
		default:
			t.Errorf("demote = %d", s)
		}
	}
	if demoted != len(members) {
		t.Errorf("demoted %d of %d owners, want all but the last one (%d)", demoted, len(members)+1, len(members))
	}
}

// TestSignupThrottle: an address gets 20 sign-up attempts an hour,
// successful or refused as taken; the 21st answers 429 with Retry-After and
// writes nothing.
func TestSignupThrottle(t *testing.T) {
	clock.StartOfWindow(time.Hour)
	c := &client{t: t, ip: nextIP()}
	body := func(i int) map[string]any {
		return map[string]any{"orgName": "Spam Firm", "name": "Sam Spam", "email": fmt.Sprintf("spam%d-%s@example.com", i, c.ip),
			"username": fmt.Sprintf("spam%d_%d", i, seq.Add(1)), "password": "correct horse battery staple"}
	}
	taken := signup(t)
	for i := 0; i < 20; i++ {
		if i%2 == 1 {
			// Refused sign-ups count too: they are how an address is probed.
			b := body(i)
			b["username"] = taken.username
			c.must(409, "POST", "/v1/auth/signup", b)
			continue
		}
		c.must(201, "POST", "/v1/auth/signup", body(i))
	}
	n := itemCount(t)
	r := c.do("POST", "/v1/auth/signup", body(20))
	if r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("21st sign-up = %d (Retry-After %q), want 429", r.Status, r.Header.Get("Retry-After"))
	}
	if got := itemCount(t); got != n {
		t.Errorf("refused sign-up wrote %d items", got-n)
	}
	(&client{t: t, ip: nextIP()}).must(201, "POST", "/v1/auth/signup", body(21))
}

// TestLoginThrottleUnderParallelGuessing: parallel guesses from many
// addresses cannot slip past the per-account budget, and email and username
// share it.
func TestLoginThrottleUnderParallelGuessing(t *testing.T) {
	clock.StartOfWindow(15 * time.Minute)
	a := signup(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[int]int{}
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			login := a.username
			if i%2 == 0 {
				login = a.email
			}
			s := (&client{t: t, ip: nextIP()}).do("POST", "/v1/auth/login", map[string]any{"login": login, "password": "not the password at all"}).Status
			mu.Lock()
			got[s]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if got[401] != 10 || got[429] != 20 {
		t.Errorf("statuses %v, want exactly 10 × 401 and 20 × 429", got)
	}
}

// TestSessionLifetimes: a refresh token lives 14 days, a session 30 days at most.
func TestSessionLifetimes(t *testing.T) {
	a := signup(t)
	clock.Advance(13 * 24 * time.Hour)
	a.must(200, "POST", "/v1/auth/refresh", nil) // rotated: a new 14 days, capped by the session
	clock.Advance(13 * 24 * time.Hour)
	a.must(200, "POST", "/v1/auth/refresh", nil)
	clock.Advance(5 * 24 * time.Hour) // day 31: the session is over, however fresh the token
	a.must(401, "POST", "/v1/auth/refresh", nil)

	b := signup(t)
	clock.Advance(15 * 24 * time.Hour) // an unused refresh token expires after 14 days
	b.must(401, "POST", "/v1/auth/refresh", nil)
}

// TestRefreshCarriesCurrentRole: a refreshed access token has the member's
// current role, not the one they logged in with.
func TestRefreshCarriesCurrentRole(t *testing.T) {
	t.Parallel()
	owner := signup(t)
	m := owner.member("admin")
	owner.must(200, "PATCH", "/v1/users/"+m.userID, map[string]any{"role": "billing"})
	r := m.must(200, "POST", "/v1/auth/refresh", nil)
	m.token = str(r.Body, "accessToken")
	claims, _ := base64.RawURLEncoding.DecodeString(strings.Split(m.token, ".")[1])
	if !strings.Contains(string(claims), `"role":"billing"`) {
		t.Errorf("refreshed token claims %s, want role billing", claims)
	}
	m.must(403, "PATCH", "/v1/org", map[string]any{"name": "Nope"})
}

// TestLogoutOnlyEndsOwnSession: presenting someone else's refresh cookie to
// logout does not end their session.
func TestLogoutOnlyEndsOwnSession(t *testing.T) {
	t.Parallel()
	a := signup(t)
	b := signup(t)
	stolen := b.refresh
	a.refresh = stolen
	a.must(204, "POST", "/v1/auth/logout", nil)
	b.refresh = stolen
	b.must(200, "POST", "/v1/auth/refresh", nil)
}

// TestSignupDoesNotTellEmailsApart: a sign-up whose username is taken gets
// the same answer whether or not its email is registered; a taken email is
// answered the same way in any case, and its owner is emailed about it.
func TestSignupDoesNotTellEmailsApart(t *testing.T) {
	a := signup(t)
	n := seq.Add(1)
	body := func(email, username string) map[string]any {
		return map[string]any{"orgName": "Probe Firm", "name": "Pat Probe", "email": email, "username": username,
			"password": "correct horse battery staple"}
	}
	answer := func(b map[string]any) (int, string) {
		r := (&client{t: t, ip: nextIP()}).do("POST", "/v1/auth/signup", b)
		delete(r.Body, "instance") // the request id
		j, _ := json.Marshal(r.Body)
		return r.Status, string(j)
	}
	notices := func() int {
		c := 0
		for _, it := range stack.Outbox.Items() {
			if it.To == a.email && it.Channel == "email" {
				c++
				if strings.Contains(it.Body, "Probe") || !strings.Contains(it.Subject, "tried to sign up") {
					t.Errorf("notice %q: %q", it.Subject, it.Body)
				}
			}
		}
		return c
	}

	s1, registered := answer(body(a.email, a.username))
	s2, unregistered := answer(body(fmt.Sprintf("nobody%d@example.com", n), a.username))
	if s1 != 409 || s2 != 409 || registered != unregistered {
		t.Errorf("taken username: registered email %d %s, unregistered %d %s; want the same 409", s1, registered, s2, unregistered)
	}
	if strings.Contains(registered, `"field":"email"`) {
		t.Errorf("a taken username's answer names the email: %s", registered)
	}
	s3, upper := answer(body(strings.ToUpper(a.email), fmt.Sprintf("probe_%d", n)))
	s4, lower := answer(body(a.email, fmt.Sprintf("probe_%d_b", n)))
	if s3 != 409 || upper != lower || !strings.Contains(upper, `"field":"email"`) || strings.Contains(upper, `"field":"username"`) {
		t.Errorf("taken email: %d %s / %d %s; want one 409 naming only the email", s3, upper, s4, lower)
	}
	if got := notices(); got != 3 {
		t.Errorf("the address's owner got %d notices, want 3 (one per sign-up that used it)", got)
	}
}

// TestLoginThrottleAcrossBoundary: the account's budget is a token bucket,
// not a clock-aligned window, so ten guesses just before a quarter hour
// leave none just after it (a fixed window allowed 20 in seconds).
func TestLoginThrottleAcrossBoundary(t *testing.T) {
	a := signup(t)
	clock.StartOfWindow(15 * time.Minute)
	clock.Advance(15*time.Minute - 31*time.Second) // 30 s before the next quarter hour
	c := &client{t: t, ip: nextIP()}
	for i := 0; i < 10; i++ {
		c.must(401, "POST", "/v1/auth/login", map[string]any{"login": a.username, "password": "wrong password number x"})
	}
	clock.Advance(35 * time.Second) // past the boundary
	r := c.do("POST", "/v1/auth/login", map[string]any{"login": a.username, "password": a.password})
	if r.Status != 429 {
		t.Fatalf("login just after the boundary = %d, want 429: %s", r.Status, r.Raw)
	}
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 90 {
		t.Errorf("Retry-After %q, want 1-90 s (one token every 90 s)", r.Header.Get("Retry-After"))
	}
	clock.Advance(90 * time.Second) // one token back
	c.must(200, "POST", "/v1/auth/login", map[string]any{"login": a.username, "password": a.password})
	// The success gave its token back; a guess still finds none left after it.
	c.must(401, "POST", "/v1/auth/login", map[string]any{"login": a.username, "password": "wrong password number y"})
	c.must(429, "POST", "/v1/auth/login", map[string]any{"login": a.username, "password": "wrong password number z"})
}

// TestCreateUserStrengthKnowsOrgName: a new member's password is judged
// against the org's names too, as a sign-up's is.
func TestCreateUserStrengthKnowsOrgName(t *testing.T) {
	t.Parallel()
	n := seq.Add(1)
	c := &client{t: t, ip: nextIP()}
	r := c.must(201, "POST", "/v1/auth/signup", map[string]any{"orgName": "Quillfeather Brackenridge LLP", "name": "Olive Owner",
		"email": fmt.Sprintf("qb%d@example.com", n), "username": fmt.Sprintf("qb_%d", n), "password": "correct horse battery staple"})
	c.token = str(r.Body, "accessToken")
	member := func(pw string) result {
		m := seq.Add(1)
		return c.do("POST", "/v1/users", map[string]any{"name": "New Hire", "email": fmt.Sprintf("hire%d@example.com", m),
			"username": fmt.Sprintf("hire_%d", m), "role": "staff", "password": pw})
	}
	if r := member("Quillfeather Brackenridge"); r.Status != 422 || !strings.Contains(r.Raw, `"field":"password"`) {
		t.Errorf("the org's name as password = %d, want 422 naming password: %s", r.Status, r.Raw)
	}
	if r := member("violet tractor umbrella mosaic"); r.Status != 201 {
		t.Errorf("a strong password = %d: %s", r.Status, r.Raw)
	}
}
