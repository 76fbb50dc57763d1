package privacy

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/localaws"
	"github.com/matterly/matterly/shared/store"
)

// TestRegistry: every type the issue lists is registered, each once, with
// the holds the law sets; Register refuses a repeated name.
func TestRegistry(t *testing.T) {
	names := map[string]Type{}
	for _, ty := range Types() {
		names[ty.Name] = ty
	}
	for _, want := range []string{"clients", "contact-entries", "matters", "notes", "bookings", "activity", "documents", "summaries", "messages",
		"consent-log", "invoices", "payments", "trust-accounts", "trust-journal", "trust-ledgers", "trust-reconciliations", "members", "signature-requests"} {
		if _, ok := names[want]; !ok {
			t.Errorf("%s is not registered", want)
		}
	}
	for name, years := range map[string]int{"invoices": 7, "payments": 7, "trust-journal": 5, "trust-ledgers": 5, "consent-log": 4} {
		if h := names[name].Hold; h == nil || h.Years != years {
			t.Errorf("%s hold = %+v, want %d years", name, h, years)
		}
	}
	if !slicesContain(names["members"].Omit, "passwordHash") || !names["members"].OrgOnly {
		t.Error("members must be workspace-only and never carry password hashes")
	}
	defer func() {
		if recover() == nil {
			t.Error("a repeated name was registered")
		}
	}()
	Register(Type{Name: "clients", SKPrefix: "X#", ItemType: "x"})
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestSafeNameAndCSV(t *testing.T) {
	for in, want := range map[string]string{"../../etc/passwd": "_.._etc_passwd", "contract v2.pdf": "contract_v2.pdf", "": "file", "Zoë.pdf": "Zo_.pdf"} {
		if got := SafeName(in); got != want {
			t.Errorf("SafeName(%q) = %q, want %q", in, got, want)
		}
	}
	got := csvRow([]string{"a", "n", "b", "m"}, Row{"a": "x", "n": json.Number("12"), "b": true})
	if strings.Join(got, ",") != "x,12,true," {
		t.Errorf("csvRow = %v", got)
	}
}

// TestInvoke: the worker's handler takes both its triggers, as the sample
// events spell them: an export job for an unknown export is a batch item
// failure (retried, then the DLQ), the retention rule runs every org.
func TestInvoke(t *testing.T) {
	dyn, err := localaws.StartDynamo("")
	if err != nil {
		t.Fatal(err)
	}
	defer dyn.Close()
	db := store.New(dyn.Client(), dyn.TableName())
	svc := NewService(db, nil, "", "", nil, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	sqsEvent, _ := os.ReadFile("../../events/sqs-privacy-exports.json")
	out, err := svc.Invoke(context.Background(), sqsEvent)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(out); !strings.Contains(string(b), "5a1d7b2e-0000-4000-8000-000000000005") {
		t.Errorf("an export job that failed is not reported: %s", b)
	}
	// One org with an export past its 7 days: the rule's run expires it.
	past := time.Now().Add(-time.Hour)
	if err := db.PutItem(context.Background(), exportRow{Keys: store.Keys{PK: "ORG#O1", SK: exportSK("E1"), Type: "privacyExport"},
		Export: Export{ID: "E1", Scope: ScopeWorkspace, Status: Ready, ExpiresAt: &past}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.PutItem(context.Background(), struct {
		store.Keys
		ID string `dynamodbav:"id"`
	}{store.Keys{PK: "ORG#O1", SK: "ORG", Type: "org", GSI1PK: "ORGS", GSI1SK: "O1"}, "O1"}, nil); err != nil {
		t.Fatal(err)
	}
	rule, _ := os.ReadFile("../../events/eventbridge-retention.json")
	if _, err := svc.Invoke(context.Background(), rule); err != nil {
		t.Fatal(err)
	}
	var e exportRow
	if err := db.Get(context.Background(), "ORG#O1", exportSK("E1"), &e); err != nil || e.Status != "expired" {
		t.Errorf("export after the retention run = %+v, %v", e, err)
	}
	if _, err := svc.Invoke(context.Background(), json.RawMessage(`{"hello":1}`)); err == nil {
		t.Error("an unknown event was accepted")
	}
}

// TestForClient: a client-scope row loses the staff data, the common
// attributes and the type's own, and keeps the rest.
func TestForClient(t *testing.T) {
	ty := Type{Name: "x", StaffData: []string{"deviceName"}}
	r := ty.forClient(Row{"actorId": "u1", "ip": "198.51.100.7", "userAgent": "UA", "device": "mobile", "deviceName": "Mia's phone", "action": "note.created"})
	if len(r) != 2 || r["actorId"] != "u1" || r["action"] != "note.created" {
		t.Errorf("forClient = %v", r)
	}
}
