package devstack

import (
	"context"
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
