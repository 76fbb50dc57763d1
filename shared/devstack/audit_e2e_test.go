package devstack

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/audit"
	"github.com/matterly/matterly/shared/tenant"
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
