package audit

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/envelope"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/store/storetest"
	"github.com/matterly/matterly/shared/tenant"
)

func sample(i int) Entry {
	return Entry{ID: storetest.ID(), Log: "main", At: time.Date(2026, 12, 1, 9, i, 0, 0, time.UTC).Format(time.RFC3339Nano),
		ActorID: "01ACTOR", ActorRole: "owner", Action: fmt.Sprintf("client.action%d", i%2), EntityType: "client",
		EntityID: "01CLIENT", ClientID: "01CLIENT", Fields: []string{"name"}, Detail: "d", IP: "192.0.2.7", UserAgent: "curl/8"}
}

// TestCanonical: the hashed bytes are fixed for given content, absent and
// empty field lists are the same content, and every field, the org and
// the previous hash change the hash.
func TestCanonical(t *testing.T) {
	e := Entry{Seq: 1, ID: "01E", Log: "main", At: "2026-12-01T09:00:00Z", ActorID: "01A", ActorRole: "owner", Action: "user.login",
		EntityType: "user", EntityID: "01A", IP: "192.0.2.1", UserAgent: "UA \"x\""}
	want := `{"orgId":"01O","seq":1,"id":"01E","log":"main","at":"2026-12-01T09:00:00Z","actorId":"01A","actorRole":"owner",` +
		`"action":"user.login","entityType":"user","entityId":"01A","clientId":"","matterId":"","fields":[],"detail":"",` +
		`"ip":"192.0.2.1","userAgent":"UA \"x\""}`
	if got := string(Canonical("01O", e)); got != want {
		t.Fatalf("canonical\n got %s\nwant %s", got, want)
	}
	withEmpty := e
	withEmpty.Fields = []string{}
	if Hash("01O", e, "") != Hash("01O", withEmpty, "") {
		t.Error("nil and empty fields hash differently")
	}
	base := Hash("01O", e, "")
	edits := map[string]func(*Entry){
		"seq": func(x *Entry) { x.Seq = 2 }, "id": func(x *Entry) { x.ID = "01F" }, "log": func(x *Entry) { x.Log = "trust" },
		"at": func(x *Entry) { x.At = "2026-12-01T09:00:01Z" }, "actorId": func(x *Entry) { x.ActorID = "01B" },
		"actorRole": func(x *Entry) { x.ActorRole = "admin" }, "action": func(x *Entry) { x.Action = "user.logout" },
		"entityType": func(x *Entry) { x.EntityType = "client" }, "entityId": func(x *Entry) { x.EntityID = "01C" },
		"clientId": func(x *Entry) { x.ClientID = "01C" }, "matterId": func(x *Entry) { x.MatterID = "01M" },
		"fields": func(x *Entry) { x.Fields = []string{"email"} }, "detail": func(x *Entry) { x.Detail = "x" },
		"ip": func(x *Entry) { x.IP = "192.0.2.2" }, "userAgent": func(x *Entry) { x.UserAgent = "other" },
	}
	for name, edit := range edits {
		x := e
		edit(&x)
		if Hash("01O", x, "") == base {
			t.Errorf("editing %s leaves the hash unchanged", name)
		}
	}
	if Hash("01P", e, "") == base || Hash("01O", e, "00") == base {
		t.Error("the org or the previous hash does not change the hash")
	}
}

// testSealer stands in for the audit KMS key.
func testSealer(t *testing.T) *envelope.Sealer {
	t.Helper()
	s, err := envelope.NewLocal([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// keyed is the chain store of db, keyed by the test sealer.
func keyed(t *testing.T, db *store.DB) Chain {
	return Chain{DB: db, Keys: NewKeyring(testSealer(t))}
}

// chain appends n sample entries to a fresh org's chain.
func chain(t *testing.T, db *store.DB, n int) (string, []Entry) {
	t.Helper()
	org := storetest.ID()
	var out []Entry
	c := keyed(t, db)
	for i := range n {
		e := sample(i)
		if ok, err := c.Append(context.Background(), org, e); err != nil || !ok {
			t.Fatalf("append %d: %v, %v", i, ok, err)
		}
		out = append(out, e)
	}
	return org, out
}

func rowAt(t *testing.T, db *store.DB, org string, seq int64) entryRow {
	t.Helper()
	var r entryRow
	if err := db.Get(context.Background(), tenant.PK(org), entrySK(seq), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func putRow(t *testing.T, db *store.DB, r entryRow) {
	t.Helper()
	if err := db.PutItem(context.Background(), r, nil); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyDetectsTampering: an entry edited, edited with its own hash
// recomputed, removed, or two entries swapped, and a removed last entry
// are each found, at the first entry that does not hold.
func TestVerifyDetectsTampering(t *testing.T) {
	db := storetest.DB(t)
	ctx := context.Background()
	tests := []struct {
		name       string
		tamper     func(t *testing.T, org string)
		wantBroken int64
		reason     string
	}{
		{"untouched", func(*testing.T, string) {}, 0, ""},
		{"edited", func(t *testing.T, org string) {
			r := rowAt(t, db, org, 3)
			r.Action = "client.nothing_to_see"
			putRow(t, db, r)
		}, 3, "content"},
		{"edited, own hash recomputed", func(t *testing.T, org string) {
			r := rowAt(t, db, org, 3)
			r.IP = "203.0.113.9"
			r.Hash = Hash(org, r.Entry, r.PrevHash)
			putRow(t, db, r)
		}, 3, "hash"},
		{"removed", func(t *testing.T, org string) {
			if err := db.Transact(ctx, db.Delete(tenant.PK(org), entrySK(2), nil)); err != nil {
				t.Fatal(err)
			}
		}, 2, "sequence"},
		{"reordered", func(t *testing.T, org string) {
			a, b := rowAt(t, db, org, 2), rowAt(t, db, org, 3)
			a.SK, b.SK = b.SK, a.SK
			putRow(t, db, a)
			putRow(t, db, b)
		}, 2, "sequence"},
		{"renumbered after a removal", func(t *testing.T, org string) {
			// Entry 2 removed and 3..5 moved up, numbers and all: the
			// sequence holds but the links do not.
			for seq := int64(3); seq <= 5; seq++ {
				r := rowAt(t, db, org, seq)
				r.Seq, r.SK = seq-1, entrySK(seq-1)
				putRow(t, db, r)
			}
			if err := db.Transact(ctx, db.Delete(tenant.PK(org), entrySK(5), nil)); err != nil {
				t.Fatal(err)
			}
		}, 2, "link"},
		{"last removed", func(t *testing.T, org string) {
			if err := db.Transact(ctx, db.Delete(tenant.PK(org), entrySK(5), nil)); err != nil {
				t.Fatal(err)
			}
		}, 5, "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org, _ := chain(t, db, 5)
			tt.tamper(t, org)
			v, err := keyed(t, db).Verify(ctx, org)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantBroken == 0 {
				if !v.Valid || v.Entries != 5 || v.FirstBroken != nil {
					t.Fatalf("verify = %+v, want valid with 5 entries", v)
				}
				return
			}
			if v.Valid || v.FirstBroken == nil || v.FirstBroken.Seq != tt.wantBroken {
				t.Fatalf("verify = %+v (broken %+v), want broken at %d", v, v.FirstBroken, tt.wantBroken)
			}
			if !strings.Contains(v.FirstBroken.Reason, tt.reason) && !strings.Contains(v.FirstBroken.Reason, map[string]string{
				"content": "hash", "link": "link", "sequence": "sequence", "missing": "missing"}[tt.reason]) {
				t.Errorf("reason %q, want one about %s", v.FirstBroken.Reason, tt.reason)
			}
		})
	}
}

// TestAppendRedelivery: the stream sending an entry again appends nothing.
func TestAppendRedelivery(t *testing.T) {
	db := storetest.DB(t)
	ctx := context.Background()
	org, entries := chain(t, db, 2)
	c := keyed(t, db)
	for range 2 {
		ok, err := c.Append(ctx, org, entries[0])
		if err != nil || ok {
			t.Fatalf("redelivery appended: %v, %v", ok, err)
		}
	}
	v, err := c.Verify(ctx, org)
	if err != nil || !v.Valid || v.Entries != 2 {
		t.Fatalf("verify = %+v, %v; want 2 valid entries", v, err)
	}
}

// TestListFilters: newest first, filtered by actor, action and time,
// paged by the cursor without losing or repeating an entry.
func TestListFilters(t *testing.T) {
	db := storetest.DB(t)
	ctx := context.Background()
	org, entries := chain(t, db, 7)
	page := func(f Filter, limit int32) []int64 {
		var seqs []int64
		var start store.StartKey
		for {
			got, next, err := List(ctx, db, org, f, limit, start)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range got {
				seqs = append(seqs, e.Seq)
			}
			if next == nil {
				return seqs
			}
			start = next
		}
	}
	at := func(i int) time.Time { t, _ := time.Parse(time.RFC3339, entries[i].At); return t }
	tests := []struct {
		name  string
		f     Filter
		limit int32
		want  string
	}{
		{"all", Filter{}, 3, "[7 6 5 4 3 2 1]"},
		{"action", Filter{Action: "client.action1"}, 2, "[6 4 2]"},
		{"actor", Filter{ActorID: "someone else"}, 2, "[]"},
		{"from", Filter{From: at(4)}, 25, "[7 6 5]"},
		{"to", Filter{To: at(1)}, 1, "[2 1]"},
		{"range and action", Filter{From: at(1), To: at(5), Action: "client.action0"}, 1, "[5 3]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(page(tt.f, tt.limit)); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestFromImage reads activity entries of every log and nothing else.
func TestFromImage(t *testing.T) {
	s := func(v string) events.DynamoDBAttributeValue { return events.NewStringAttribute(v) }
	img := map[string]events.DynamoDBAttributeValue{"PK": s("ORG#01O"), "SK": s("TRUSTACT#01E"), "type": s("activity"), "id": s("01E"),
		"action": s("trust.entry.posted"), "ip": s("192.0.2.1"), "userAgent": s("UA"), "at": s("2026-12-01T09:00:00Z"),
		"fields": events.NewListAttribute([]events.DynamoDBAttributeValue{s("amount")})}
	org, e, ok := FromImage(img)
	if !ok || org != "01O" || e.Log != "trust" || e.ID != "01E" || e.IP != "192.0.2.1" || fmt.Sprint(e.Fields) != "[amount]" {
		t.Fatalf("FromImage = %s %+v %v", org, e, ok)
	}
	img["SK"] = s("ACT#01E")
	if _, e, _ := FromImage(img); e.Log != "main" {
		t.Errorf("log of ACT# = %q", e.Log)
	}
	for _, typ := range []string{"client", "audit"} {
		img["type"] = s(typ)
		if _, _, ok := FromImage(img); ok {
			t.Errorf("a %s item is read as an activity entry", typ)
		}
	}
}
