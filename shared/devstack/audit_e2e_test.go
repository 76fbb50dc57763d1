package devstack

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/audit"
	"github.com/matterly/matterly/shared/tenant"
	"github.com/matterly/matterly/shared/wire/privacywire"
)

// auditLog reads a's whole audit log (newest first) with query q.
func auditLog(a *account, q string) []map[string]any {
	a.t.Helper()
	var out []map[string]any
	cursor := ""
	for {
		path := "/v1/audit?limit=100&" + q
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		r := a.must(200, "GET", path, nil)
		out = append(out, items(r)...)
		if cursor = str(r.Body, "nextCursor"); cursor == "" {
			return out
		}
	}
}

// find returns the first entry of log with action (and, when given, the
// entity id), nil when none.
func find(log []map[string]any, action, entityID string) map[string]any {
	for _, e := range log {
		if e["action"] == action && (entityID == "" || e["entityId"] == entityID) {
			return e
		}
	}
	return nil
}

// TestAuditChain: every activity entry reaches the audit log with its
// actor, address and browser; the chain verifies; an entry edited in the
// table is found; staff may not read the log; filters narrow it.
func TestAuditChain(t *testing.T) {
	t.Parallel()
	a := signup(t)
	a.t = t
	client := a.do("POST", "/v1/clients", map[string]any{"name": "Ada Audit", "kind": "person"}, "User-Agent", "AuditTest/1.0")
	if client.Status != 201 {
		t.Fatalf("create client: %d %s", client.Status, client.Raw)
	}
	clientID := str(client.Body, "id")
	a.newMatter(clientID)

	log := auditLog(a, "")
	e := find(log, "client.created", clientID)
	if e == nil {
		t.Fatalf("no client.created in the audit log: %v", log)
	}
	if e["actorId"] != a.userID || e["ip"] != a.ip || e["userAgent"] != "AuditTest/1.0" || e["hash"] == "" || e["log"] != "main" {
		t.Errorf("entry = %v", e)
	}
	if got := auditLog(a, "action=client.created"); len(got) != 1 || got[0]["entityId"] != clientID {
		t.Errorf("filtered by action: %v", got)
	}
	if got := auditLog(a, "actorId=nobody"); len(got) != 0 {
		t.Errorf("filtered by an unknown actor: %v", got)
	}
	a.must(422, "GET", "/v1/audit?from=yesterday", nil)
	a.must(422, "GET", "/v1/audit?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", nil)
	staff := a.member("staff")
	staff.must(403, "GET", "/v1/audit", nil)
	staff.must(403, "GET", "/v1/audit/verify", nil)

	v := a.must(200, "GET", "/v1/audit/verify", nil).Body
	if v["valid"] != true || v["entries"].(float64) < 2 || v["firstBroken"] != nil {
		t.Fatalf("verify = %v", v)
	}

	// Someone with table access rewrites an entry: verify names it.
	seq := int64(e["seq"].(float64))
	ctx := context.Background()
	var item map[string]any
	if err := stack.Deps.DB.Get(ctx, tenant.PK(a.orgID), audit.EntrySK(seq), &item); err != nil {
		t.Fatal(err)
	}
	item["ip"] = "203.0.113.66"
	if err := stack.Deps.DB.PutItem(ctx, item, nil); err != nil {
		t.Fatal(err)
	}
	v = a.must(200, "GET", "/v1/audit/verify", nil).Body
	broken, _ := v["firstBroken"].(map[string]any)
	if v["valid"] != false || broken == nil || broken["seq"].(float64) != float64(seq) || broken["id"] != e["id"] ||
		!strings.Contains(broken["reason"].(string), "hash") {
		t.Fatalf("verify after the edit = %v", v)
	}
}

// TestAuditWriteCost: auditing adds no DynamoDB call to a request; the
// relay's append (one batch read, one transaction) runs off the request
// path, from the stream.
func TestAuditWriteCost(t *testing.T) {
	a := signup(t)
	a.t = t
	a.newClient("Warm Up") // the chain head exists from here on
	before := calls.total.Load()
	r := a.must(201, "POST", "/v1/clients", map[string]any{"name": "Carl Cost", "kind": "person"})
	own := calls.Of(r)
	relayCalls := calls.total.Load() - before - int64(sum(own))
	if own["TransactWriteItems"] != 1 || calls.WritesOf(r) != 1 {
		t.Errorf("the request's own calls = %v, want one transaction (the change and its activity entry)", own)
	}
	if find(auditLog(a, "action=client.created"), "client.created", str(r.Body, "id")) == nil {
		t.Fatal("the client's creation is not in the audit log")
	}
	if relayCalls != 2 {
		t.Errorf("the relay made %d calls per entry, want 2 (BatchGetItem, TransactWriteItems)", relayCalls)
	}
	t.Logf("audit write cost: %d extra calls on the request (%v), %d by the relay off the request path", 0, own, relayCalls)
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestAuditAccountEvents: sign-ins, a failed sign-in of a member (and none
// for an unknown login), sign-out, a reused refresh token, members added,
// changed in role and removed, and org settings changes reach the audit
// log with who, from where and with which browser, and the chain holds.
func TestAuditAccountEvents(t *testing.T) {
	t.Parallel()
	a := signup(t)
	a.t = t
	m := a.member("staff")
	const ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
	anon := &client{t: t, ip: nextIP()}
	if r := anon.do("POST", "/v1/auth/login", map[string]any{"login": m.username, "password": "wrong wrong wrong"}, "User-Agent", ua); r.Status != 401 {
		t.Fatalf("wrong password: %d", r.Status)
	}
	unknown := anon.do("POST", "/v1/auth/login", map[string]any{"login": "nobody-" + m.username, "password": "wrong wrong wrong"}, "User-Agent", ua)
	if unknown.Status != 401 {
		t.Fatalf("unknown login: %d", unknown.Status)
	}
	if n := calls.Of(unknown)["TransactWriteItems"]; n != 1 {
		t.Errorf("an unknown login made %d transactions, want 1 like a member's failed sign-in", n)
	}
	a.must(200, "PATCH", "/v1/users/"+m.userID, map[string]any{"role": "attorney"})
	a.must(200, "PATCH", "/v1/org", map[string]any{"businessName": "Audit & Co"})

	// A refresh token spent, then presented again.
	phone := &account{client: &client{t: t, ip: nextIP()}, username: m.username, password: m.password}
	phone.login()
	spent := phone.refresh
	phone.must(200, "POST", "/v1/auth/refresh", nil)
	thief := &client{t: t, ip: nextIP(), refresh: spent}
	thief.must(401, "POST", "/v1/auth/refresh", nil)
	m.must(204, "POST", "/v1/auth/logout", nil)
	a.must(204, "DELETE", "/v1/users/"+m.userID, nil)

	log := auditLog(a, "")
	for _, want := range []struct{ action, entity, actor, ip, detail string }{
		{"user.added", m.userID, a.userID, a.ip, "role staff"},
		{"user.login", m.userID, m.userID, "", ""},
		{"user.login_failed", m.userID, m.userID, anon.ip, ""},
		{"user.role_changed", m.userID, a.userID, a.ip, "staff → attorney"},
		{"org.updated", a.orgID, a.userID, a.ip, ""},
		{"user.refresh_token_reused", "", m.userID, thief.ip, ""},
		{"user.logout", "", m.userID, "", ""},
		{"user.removed", m.userID, a.userID, a.ip, "role attorney"},
	} {
		e := find(log, want.action, want.entity)
		if e == nil {
			t.Errorf("no %s of %s in the audit log", want.action, want.entity)
			continue
		}
		if e["actorId"] != want.actor || (want.ip != "" && e["ip"] != want.ip) || (want.detail != "" && e["detail"] != want.detail) {
			t.Errorf("%s = %v, want actor %s, ip %q, detail %q", want.action, e, want.actor, want.ip, want.detail)
		}
	}
	if e := find(log, "user.login_failed", m.userID); e != nil && e["userAgent"] != ua {
		t.Errorf("failed sign-in's browser = %v", e["userAgent"])
	}
	if e := find(log, "org.updated", ""); e != nil && fmt.Sprint(e["fields"]) != "[businessName]" {
		t.Errorf("org.updated fields = %v", e["fields"])
	}
	if n := len(auditLog(a, "action=user.login_failed")); n != 1 {
		t.Errorf("%d failed sign-ins logged, want the member's one", n)
	}
	if strings.Contains(fmt.Sprint(log), "wrong wrong") || strings.Contains(fmt.Sprint(log), m.password) {
		t.Error("the audit log holds a password")
	}
	if v := a.must(200, "GET", "/v1/audit/verify", nil).Body; v["valid"] != true {
		t.Errorf("verify = %v", v)
	}
}

// TestSessionsListAndSignOut: a member sees each of their sessions with
// its browser, system, device and address, their current one marked, and
// signs one out: its refresh token fails at once, the others go on.
func TestSessionsListAndSignOut(t *testing.T) {
	t.Parallel()
	a := signup(t)
	a.t = t
	const laptopUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	const phoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	login := func(ua string) *account {
		c := &account{client: &client{t: t, ip: nextIP()}, userID: a.userID}
		r := c.do("POST", "/v1/auth/login", map[string]any{"login": a.username, "password": a.password}, "User-Agent", ua)
		if r.Status != 200 {
			t.Fatalf("login: %d %s", r.Status, r.Raw)
		}
		c.token = str(r.Body, "accessToken")
		return c
	}
	laptop, phone := login(laptopUA), login(phoneUA)
	if r := laptop.do("POST", "/v1/auth/refresh", nil, "User-Agent", laptopUA); r.Status != 200 {
		t.Fatalf("refresh: %d", r.Status)
	} else {
		laptop.token = str(r.Body, "accessToken")
	}

	list := items(phone.must(200, "GET", "/v1/me/sessions", nil))
	if len(list) != 3 {
		t.Fatalf("%d sessions, want 3 (sign-up, laptop, phone): %v", len(list), list)
	}
	byIP := map[string]map[string]any{}
	current := 0
	for _, s := range list {
		byIP[s["ip"].(string)] = s
		if s["current"] == true {
			current++
		}
	}
	lap, ph := byIP[laptop.ip], byIP[phone.ip]
	if lap == nil || ph == nil || current != 1 || ph["current"] != true {
		t.Fatalf("sessions = %v", list)
	}
	if lap["browser"] != "Chrome 126" || lap["os"] != "Windows" || lap["device"] != "desktop" ||
		ph["browser"] != "Safari 17" || ph["os"] != "iOS" || ph["device"] != "mobile" {
		t.Errorf("laptop %v, phone %v", lap, ph)
	}
	if list[0]["ip"] != laptop.ip {
		t.Errorf("the laptop refreshed last but is not first: %v", list)
	}

	// Another member cannot end it; the phone can.
	other := a.member("admin")
	other.must(404, "DELETE", "/v1/me/sessions/"+lap["id"].(string), nil)
	phone.must(204, "DELETE", "/v1/me/sessions/"+lap["id"].(string), nil)
	laptop.must(401, "POST", "/v1/auth/refresh", nil)
	phone.must(200, "POST", "/v1/auth/refresh", nil)
	phone.must(404, "DELETE", "/v1/me/sessions/"+lap["id"].(string), nil)
	phone.must(404, "DELETE", "/v1/me/sessions/not-a-session", nil)
	if n := len(items(phone.must(200, "GET", "/v1/me/sessions", nil))); n != 2 {
		t.Errorf("%d sessions after the sign-out, want 2", n)
	}
	if e := find(auditLog(a, "action=user.session_ended"), "user.session_ended", lap["id"].(string)); e == nil || e["ip"] != phone.ip {
		t.Errorf("session_ended entry = %v", e)
	}
}

// TestMeCorrection: a member corrects their name and phone freely, and
// their email and username with their password; the new login works, the
// old one no longer does, a login taken by someone else is refused, and
// the audit log names the fields changed.
func TestMeCorrection(t *testing.T) {
	t.Parallel()
	a := signup(t)
	a.t = t
	m := a.member("staff")
	r := m.must(200, "PATCH", "/v1/me", map[string]any{"name": "Mia Corrected", "phone": "+14155550199"})
	if str(r.Body, "name") != "Mia Corrected" || str(r.Body, "phone") != "+14155550199" {
		t.Errorf("after the correction: %s", r.Raw)
	}
	newEmail := "corrected-" + m.email
	if r := m.must(422, "PATCH", "/v1/me", map[string]any{"email": newEmail}); !strings.Contains(r.Raw, "currentPassword") {
		t.Errorf("an email change without the password: %s", r.Raw)
	}
	m.must(422, "PATCH", "/v1/me", map[string]any{"email": newEmail, "currentPassword": "not my password"})
	m.must(422, "PATCH", "/v1/me", map[string]any{"email": "not an email", "currentPassword": m.password})
	if r := m.must(409, "PATCH", "/v1/me", map[string]any{"username": a.username, "currentPassword": m.password}); !strings.Contains(r.Raw, `"field":"username"`) {
		t.Errorf("a taken username: %s", r.Raw)
	}
	if r := m.must(409, "PATCH", "/v1/me", map[string]any{"email": strings.ToUpper(a.email), "currentPassword": m.password}); !strings.Contains(r.Raw, `"field":"email"`) {
		t.Errorf("a taken email: %s", r.Raw)
	}
	r = m.must(200, "PATCH", "/v1/me", map[string]any{"email": newEmail, "username": "fixed_" + m.username, "currentPassword": m.password})
	if str(r.Body, "email") != m.email || str(r.Body, "pendingEmail") != newEmail || str(r.Body, "username") != "fixed_"+m.username {
		t.Errorf("after the login change: %s", r.Raw)
	}
	// The email moves only through the link sent to the new address.
	m.must(200, "POST", "/v1/me/email/confirm", map[string]any{"token": lastLink(t, newEmail, "/confirm-email?token=")})
	anon := &client{t: t, ip: nextIP()}
	anon.must(401, "POST", "/v1/auth/login", map[string]any{"login": m.email, "password": m.password})
	anon.must(401, "POST", "/v1/auth/login", map[string]any{"login": m.username, "password": m.password})
	anon.must(200, "POST", "/v1/auth/login", map[string]any{"login": newEmail, "password": m.password})
	anon.must(200, "POST", "/v1/auth/login", map[string]any{"login": "fixed_" + m.username, "password": m.password})
	// The old login is free for someone else.
	a.must(201, "POST", "/v1/users", map[string]any{"name": "Next Hire", "email": m.email, "username": m.username,
		"role": "staff", "password": "violet tractor umbrella mosaic"})

	log := auditLog(a, "action=user.account_updated")
	if len(log) != 3 || fmt.Sprint(log[0]["fields"]) != "[email]" || fmt.Sprint(log[1]["fields"]) != "[username]" ||
		fmt.Sprint(log[2]["fields"]) != "[name phone]" || log[0]["actorId"] != m.userID || log[1]["actorId"] != m.userID {
		t.Errorf("account_updated entries = %v", log)
	}
	if strings.Contains(fmt.Sprint(log), newEmail) || strings.Contains(fmt.Sprint(log), "Mia Corrected") {
		t.Error("the audit log holds the new values")
	}
}

// TestMeDelete: deleting one's account needs the password, ends every
// session and both logins, keeps what the member wrote (under an id no
// member answers to), and is refused for the last owner.
func TestMeDelete(t *testing.T) {
	t.Parallel()
	a := signup(t)
	a.t = t
	if r := a.must(409, "DELETE", "/v1/me", map[string]any{"currentPassword": a.password}); !strings.Contains(r.Raw, "owner") {
		t.Errorf("the last owner leaving: %s", r.Raw)
	}
	m := a.member("staff")
	other := &account{client: &client{t: t, ip: nextIP()}, username: m.username, password: m.password}
	other.login()
	clientID := a.newClient("Noted Client")
	note := str(m.must(201, "POST", "/v1/clients/"+clientID+"/notes", map[string]any{"body": "Called the client"}).Body, "id")

	m.must(422, "DELETE", "/v1/me", map[string]any{"currentPassword": "not my password"})
	m.must(422, "DELETE", "/v1/me", map[string]any{})
	m.must(204, "DELETE", "/v1/me", map[string]any{"currentPassword": m.password})
	m.must(401, "POST", "/v1/auth/refresh", nil)
	other.must(401, "POST", "/v1/auth/refresh", nil)
	m.must(401, "GET", "/v1/me", nil)
	anon := &client{t: t, ip: nextIP()}
	anon.must(401, "POST", "/v1/auth/login", map[string]any{"login": m.username, "password": m.password})
	if strings.Contains(a.must(200, "GET", "/v1/users", nil).Raw, m.userID) {
		t.Error("the deleted member is still listed")
	}
	if n := a.must(200, "GET", "/v1/notes/"+note, nil); str(n.Body, "authorId") != m.userID || str(n.Body, "body") != "Called the client" {
		t.Errorf("the member's note after the deletion: %s", n.Raw)
	}
	if e := find(auditLog(a, "action=user.account_deleted"), "user.account_deleted", m.userID); e == nil || e["actorId"] != m.userID {
		t.Errorf("account_deleted entry = %v", e)
	}

	// An owner may leave while another owner stays.
	second := a.member("owner")
	second.must(204, "DELETE", "/v1/me", map[string]any{"currentPassword": second.password})
	a.must(409, "DELETE", "/v1/me", map[string]any{"currentPassword": a.password})
}

// TestActivityHidesAccountEvents: the org's activity feed shows staff the
// work on clients and matters, never colleagues' sign-ins (with their IP
// and browser), role changes or org settings; owners and admins see those
// there and in the audit log.
func TestActivityHidesAccountEvents(t *testing.T) {
	t.Parallel()
	a := signup(t)
	client := a.must(201, "POST", "/v1/clients", map[string]any{"name": "Feed Client", "kind": "person"})
	staff := a.member("staff") // its sign-in is an account event
	accountActions := func(acct *account) (n, work int) {
		for _, e := range items(acct.must(200, "GET", "/v1/activity?limit=100", nil)) {
			switch e["entityType"] {
			case "user", "session", "org":
				n++
			}
			if e["action"] == "client.created" && e["entityId"] == str(client.Body, "id") {
				work++
			}
		}
		return n, work
	}
	if n, work := accountActions(staff); n != 0 || work != 1 {
		t.Errorf("staff's feed: %d account events (want 0), client.created %d times (want 1)", n, work)
	}
	if n, work := accountActions(a); n == 0 || work != 1 {
		t.Errorf("owner's feed: %d account events (want some), client.created %d times (want 1)", n, work)
	}
}

// rehash is a forgery by someone who can write the table but holds no
// key: entry from's IP is changed, it and every later entry rehashed with
// the published unkeyed hash (with downgrade, marked version 1 too), and
// the chain head moved to the new last hash, so every link holds.
func rehash(t *testing.T, orgID string, from, last int64, downgrade bool) {
	t.Helper()
	ctx := context.Background()
	db := stack.Deps.DB
	prev := ""
	if from > 1 {
		var e audit.Entry
		if err := db.Get(ctx, tenant.PK(orgID), audit.EntrySK(from-1), &e); err != nil {
			t.Fatal(err)
		}
		prev = e.Hash
	}
	for seq := from; seq <= last; seq++ {
		var item map[string]any
		var e audit.Entry
		if err := db.Get(ctx, tenant.PK(orgID), audit.EntrySK(seq), &item); err != nil {
			t.Fatal(err)
		}
		if err := db.Get(ctx, tenant.PK(orgID), audit.EntrySK(seq), &e); err != nil {
			t.Fatal(err)
		}
		if seq == from {
			e.IP = "203.0.113.66"
			item["ip"] = e.IP
		}
		if downgrade {
			delete(item, "v")
		}
		item["prevHash"], item["hash"] = prev, audit.Hash(orgID, e, prev)
		prev = item["hash"].(string)
		if err := db.PutItem(ctx, item, nil); err != nil {
			t.Fatal(err)
		}
	}
	var head map[string]any
	if err := db.Get(ctx, tenant.PK(orgID), "AUDITHEAD", &head); err != nil {
		t.Fatal(err)
	}
	head["hash"] = prev
	if err := db.PutItem(ctx, head, nil); err != nil {
		t.Fatal(err)
	}
}

// TestAuditDetectsRehashedChain: one with write access to the table
// rewrites an entry and recomputes every later hash (and the head) the
// only way they can, without the chain key: verify names the entry,
// whether the forged entries keep their version or claim the unkeyed one.
func TestAuditDetectsRehashedChain(t *testing.T) {
	a := signup(t)
	a.t = t
	client := a.newClient("Rita Rewrite")
	a.newMatter(client)
	a.must(200, "PATCH", "/v1/clients/"+client, map[string]any{"phone": "+15555550188"})
	v := a.must(200, "GET", "/v1/audit/verify", nil).Body
	n := int64(num(v, "entries"))
	if v["valid"] != true || n < 3 {
		t.Fatalf("verify = %v", v)
	}
	for _, downgrade := range []bool{false, true} {
		rehash(t, a.orgID, 2, n, downgrade)
		v = a.must(200, "GET", "/v1/audit/verify", nil).Body
		if broken, _ := v["firstBroken"].(map[string]any); v["valid"] != false || broken == nil || num(broken, "seq") != 2 {
			t.Errorf("verify after a rehash (version 1 claimed: %v) = %v", downgrade, v)
		}
	}
}

// TestAuditAnchors: the daily retention run anchors each chain's head in
// the bucket (one object per org and day); verify compares the chain with
// the latest anchor, so a chain rewritten whole, its key item removed and
// every entry rehashed unkeyed, is found.
func TestAuditAnchors(t *testing.T) {
	a := signup(t)
	a.t = t
	a.newMatter(a.newClient("Andy Anchor"))
	if _, err := privacywire.Privacy(stack.Deps).RunOrg(context.Background(), a.orgID); err != nil {
		t.Fatal(err)
	}
	day := clock.Now().UTC().Format("2006-01-02")
	if got := objectsUnder(t, "audit-anchors/"+a.orgID+"/"); len(got) != 1 || got[0] != "audit-anchors/"+a.orgID+"/"+day+".json" {
		t.Fatalf("anchors = %v", got)
	}
	v := a.must(200, "GET", "/v1/audit/verify", nil).Body
	n := int64(num(v, "entries"))
	if v["valid"] != true || num(v, "keyedFrom") != 1 || str(v, "anchor", "day") != day || int64(num(v, "anchor", "seq")) != n {
		t.Fatalf("verify = %v", v)
	}
	// The whole chain forged unkeyed, as if it had never had a key.
	if err := stack.Deps.DB.Transact(context.Background(), stack.Deps.DB.Delete(tenant.PK(a.orgID), "AUDITKEY", nil)); err != nil {
		t.Fatal(err)
	}
	rehash(t, a.orgID, 1, n, true)
	v = a.must(200, "GET", "/v1/audit/verify", nil).Body
	broken, _ := v["firstBroken"].(map[string]any)
	if v["valid"] != false || broken == nil || !strings.Contains(str(broken, "reason"), "anchor") {
		t.Errorf("verify of a chain rewritten whole = %v", v)
	}
}
