package devstack

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/matterly/matterly/shared/calendar"
	"github.com/matterly/matterly/shared/identity"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/privacy"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
	"github.com/matterly/matterly/shared/wire/calendarwire"
	"github.com/matterly/matterly/shared/wire/privacywire"
)

// privacyScenario is the full scenario: a client with a matter, a
// note, a booking, a document with two versions, a summary, an SMS, a
// consent change, an invoice and its payment, and a trust deposit and
// disbursement (the balance back at zero).
type privacyScenario struct {
	*smsOrg
	matter, note, booking, doc, summary, invoice, trustAcct string
	v2                                                      []byte
}

func newPrivacyScenario(t *testing.T) *privacyScenario {
	t.Helper()
	o := newSMSOrg(t)
	o.t = t
	s := &privacyScenario{smsOrg: o}
	s.matter = o.newMatter(o.clientID)
	s.note = str(o.must(201, "POST", "/v1/matters/"+s.matter+"/notes", map[string]any{"body": "Privileged strategy"}).Body, "id")
	s.booking = str(o.must(201, "POST", "/v1/bookings", map[string]any{"clientId": o.clientID, "matterId": s.matter, "title": "Intake",
		"startsAt": "2027-01-01T10:00:00Z", "endsAt": "2027-01-01T11:00:00Z"}).Body, "id")
	v1 := fixture(t, "contract.pdf")
	up := readyDocument(t, o.account, s.matter, "contract.pdf", v1)
	s.doc = up.docID
	s.v2 = append(append([]byte{}, v1...), []byte("\n% second version\n")...)
	up2 := uploadOf(t, o.must(201, "POST", "/v1/documents/"+s.doc+"/versions", map[string]any{"fileName": "contract v2.pdf", "contentType": "application/pdf", "size": len(s.v2)}))
	if st := up2.send(t, s.v2); st != 200 {
		t.Fatalf("PUT v2 = %d", st)
	}
	o.must(200, "POST", "/v1/documents/"+s.doc+"/complete", nil)
	o.must(200, "POST", "/v1/billing/credits/grants", map[string]any{"credits": 5, "reason": "privacy scenario"})
	s.summary = str(o.must(201, "POST", "/v1/documents/"+s.doc+"/summaries", nil).Body, "id")
	o.sms(o.client, 202, "Your hearing is on Monday.")
	o.must(201, "POST", "/v1/consent", map[string]any{"email": o.email, "state": "opted_in", "method": "staff", "note": "Said so on the phone"})
	stripeAcct := str(o.must(200, "POST", "/v1/payments/connect", map[string]any{}).Body, "stripeAccountId")
	inv := o.must(201, "POST", "/v1/invoices", invoiceBody(o.clientID, "matterId", s.matter)).Body
	s.invoice = str(inv, "id")
	o.must(200, "POST", "/v1/invoices/"+s.invoice+"/send", nil)
	now := time.Now()
	if r := deliver(t, stripeEvent("evt_paid_"+s.invoice, "invoice.paid", stripeAcct, now.Unix(), stripeInvoice(str(inv, "stripeInvoiceId"), s.invoice, "paid", 79500)), webhookSecret, now); r.Status != 200 {
		t.Fatalf("webhook = %d %s", r.Status, r.Raw)
	}
	s.trustAcct = o.trustAccount()
	o.must(201, "POST", "/v1/trust/entries", entry(s.trustAcct, o.clientID, "deposit", 250000, "matterId", s.matter))
	o.must(201, "POST", "/v1/trust/entries", entry(s.trustAcct, o.clientID, "disbursement", 250000, "matterId", s.matter))
	drain(t)
	return s
}

// exportZip creates an export, runs the worker and opens the zip.
func exportZip(t *testing.T, a *account, body map[string]any) (map[string]any, *zip.Reader) {
	t.Helper()
	created := a.must(202, "POST", "/v1/privacy/exports", body)
	if str(created.Body, "status") != "pending" {
		t.Fatalf("created = %s", created.Raw)
	}
	id := str(created.Body, "id")
	drain(t)
	got := a.must(200, "GET", "/v1/privacy/exports/"+id, nil)
	if str(got.Body, "status") != "ready" || num(got.Body, "progress") != 100 || str(got.Body, "downloadUrl") == "" || str(got.Body, "expiresAt") == "" {
		t.Fatalf("export = %s", got.Raw)
	}
	resp, zipBytes := fetch(t, str(got.Body, "downloadUrl"))
	if resp.StatusCode != 200 {
		t.Fatalf("download = %d", resp.StatusCode)
	}
	sum := sha256.Sum256(zipBytes)
	if hex.EncodeToString(sum[:]) != str(got.Body, "manifest", "sha256") || int(num(got.Body, "manifest", "size")) != len(zipBytes) {
		t.Errorf("zip hash or size differ from the export's manifest: %s", got.Raw)
	}
	zr, err := zip.NewReader(bytes.NewReader(zipBytes), int64(len(zipBytes)))
	if err != nil {
		t.Fatal(err)
	}
	return got.Body, zr
}

// zipFiles reads every file of a zip.
func zipFiles(t *testing.T, zr *zip.Reader) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = b
	}
	return out
}

// checkManifest verifies every file's hash and size against manifest.json
// and that the manifest lists every file.
func checkManifest(t *testing.T, files map[string][]byte) map[string]int {
	t.Helper()
	var m struct {
		Entities map[string]int `json:"entities"`
		Files    []struct {
			Path, SHA256 string
			Size         int
		} `json:"files"`
	}
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if len(m.Files) != len(files)-1 {
		t.Errorf("manifest lists %d files, the zip has %d besides it", len(m.Files), len(files)-1)
	}
	for _, f := range m.Files {
		sum := sha256.Sum256(files[f.Path])
		if hex.EncodeToString(sum[:]) != f.SHA256 || len(files[f.Path]) != f.Size {
			t.Errorf("%s: hash or size does not match the manifest", f.Path)
		}
	}
	for name, n := range m.Entities {
		var rows []map[string]any
		if err := json.Unmarshal(files[name+".json"], &rows); err != nil || len(rows) != n {
			t.Errorf("%s.json: %d rows (%v), manifest says %d", name, len(rows), err, n)
		}
	}
	return m.Entities
}

// TestPrivacyExport: a workspace export and a client export of the full
// scenario hold every entity, with hashes that match the manifest, the
// document's current bytes, CSV copies of the trust journal and ledgers,
// and no password hash; a client export holds nothing of another client.
func TestPrivacyExport(t *testing.T) {
	s := newPrivacyScenario(t)
	other := s.newClient("Otto Other")
	s.must(201, "POST", "/v1/clients/"+other+"/notes", map[string]any{"body": "Other's note"})

	_, zr := exportZip(t, s.account, map[string]any{"scope": "workspace"})
	files := zipFiles(t, zr)
	counts := checkManifest(t, files)
	for _, name := range []string{"clients", "contact-entries", "matters", "notes", "bookings", "activity", "documents", "document-versions",
		"summaries", "messages", "consent", "consent-log", "invoices", "payments", "trust-accounts", "trust-journal", "trust-ledgers", "members"} {
		if counts[name] == 0 {
			t.Errorf("workspace export has no %s: %v", name, counts)
		}
	}
	if counts["clients"] != 2 || counts["notes"] != 2 || counts["document-versions"] != 2 {
		t.Errorf("counts = %v", counts)
	}
	if !bytes.Equal(files["documents/"+s.doc+"/contract_v2.pdf"], s.v2) {
		t.Errorf("the document's current bytes are not in the zip: %v", keysOf(files))
	}
	if !strings.HasPrefix(string(files["trust-journal.csv"]), "date,id,accountId,entryType") || strings.Count(string(files["trust-journal.csv"]), "\n") != 3 {
		t.Errorf("trust-journal.csv = %q", files["trust-journal.csv"])
	}
	if _, ok := files["trust-ledgers.csv"]; !ok {
		t.Error("no trust-ledgers.csv")
	}
	for name, b := range files {
		for _, secret := range []string{"passwordHash", "$argon2", "objectKey", "PK\":", "GSI1PK"} {
			if strings.HasSuffix(name, ".json") && strings.Contains(string(b), secret) {
				t.Errorf("%s contains %q", name, secret)
			}
		}
	}

	_, zr = exportZip(t, s.account, map[string]any{"scope": "client", "clientId": s.clientID})
	files = zipFiles(t, zr)
	counts = checkManifest(t, files)
	if counts["clients"] != 1 || counts["notes"] != 1 || counts["summaries"] != 1 || counts["consent-log"] != 1 || counts["trust-journal"] != 2 {
		t.Errorf("client export counts = %v", counts)
	}
	if _, ok := files["members.json"]; ok {
		t.Error("a client export holds the members")
	}
	if strings.Contains(string(files["clients.json"]), "Otto Other") || strings.Contains(string(files["notes.json"]), "Other's note") {
		t.Error("a client export holds another client's records")
	}
	if !bytes.Equal(files["documents/"+s.doc+"/contract_v2.pdf"], s.v2) {
		t.Error("the client export lacks the client's document")
	}

	list := items(s.must(200, "GET", "/v1/privacy/exports", nil))
	if len(list) != 2 {
		t.Errorf("%d exports listed", len(list))
	}
	acts := strings.Join(actionsOf(t, s.account), ",")
	if strings.Count(acts, "privacy.export_created") != 2 || strings.Count(acts, "privacy.export_downloaded") != 2 {
		t.Errorf("activity = %s", acts)
	}
}

// TestPrivacyExportRules: staff may not export; bad scopes are 422; an
// unknown client is 404; a link expires with the zip after 7 days.
func TestPrivacyExportRules(t *testing.T) {
	a := signup(t)
	a.t = t
	staff := a.member("staff")
	staff.must(403, "POST", "/v1/privacy/exports", map[string]any{"scope": "workspace"})
	staff.must(403, "GET", "/v1/privacy/exports", nil)
	a.must(422, "POST", "/v1/privacy/exports", map[string]any{"scope": "everything"})
	a.must(422, "POST", "/v1/privacy/exports", map[string]any{"scope": "client"})
	a.must(422, "POST", "/v1/privacy/exports", map[string]any{"scope": "workspace", "clientId": "01J00000000000000000000000"})
	a.must(404, "POST", "/v1/privacy/exports", map[string]any{"scope": "client", "clientId": "01J00000000000000000000000"})
	a.must(404, "GET", "/v1/privacy/exports/01J00000000000000000000000", nil)
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// actionsOf lists the org's activity actions, read from the table (some
// system actors' entries do not fit the API's schema of /v1/activity).
func actionsOf(t *testing.T, a *account) []string {
	t.Helper()
	out, err := stack.Dynamo.Client().Query(context.Background(), &dynamodb.QueryInput{TableName: aws.String(store.DefaultTableName),
		KeyConditionExpression:    aws.String("PK = :pk AND begins_with(SK, :sk)"),
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":pk": store.S(tenant.PK(a.orgID)), ":sk": store.S("ACT#")}})
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, item := range out.Items {
		if s, ok := item["action"].(*dbtypes.AttributeValueMemberS); ok {
			acts = append(acts, s.Value)
		}
	}
	return acts
}

// TestEraseClient: erasing the full scenario's client deletes what the law
// lets go (every S3 object version included) and keeps, marked held, what
// it does not; a search by name finds only the held identity; a retry
// answers the same; a client with money in trust is refused with 409.
func TestEraseClient(t *testing.T) {
	s := newPrivacyScenario(t)
	rich := s.newClient("Theo Trustfund")
	s.must(201, "POST", "/v1/trust/entries", entry(s.trustAcct, rich, "deposit", 5000))
	if r := s.must(409, "DELETE", "/v1/clients/"+rich+"?erase=true", nil); str(r.Body, "rule") != "privacy.trust-balance" {
		t.Errorf("erasing a client with a trust balance: %s", r.Raw)
	}
	s.member("attorney").must(403, "DELETE", "/v1/clients/"+s.clientID+"?erase=true", nil)
	s.must(422, "DELETE", "/v1/clients/"+s.clientID+"?erase=yes", nil)
	docPrefix := "orgs/" + s.orgID + "/matters/" + s.matter + "/documents/" + s.doc + "/"
	if len(objectsUnder(t, docPrefix)) != 2 {
		t.Fatalf("objects before erasure: %v", objectsUnder(t, docPrefix))
	}

	r := s.must(200, "DELETE", "/v1/clients/"+s.clientID+"?erase=true", nil)
	for _, name := range []string{"notes", "bookings", "documents", "summaries", "messages", "contact-entries"} {
		if num(r.Body, "erased", name) < 1 {
			t.Errorf("erased %s = %v: %s", name, num(r.Body, "erased", name), r.Raw)
		}
	}
	kept := map[string]string{}
	for _, k := range r.Body["kept"].([]any) {
		k := k.(map[string]any)
		kept[str(k, "category")] = str(k, "until")
		if str(k, "reason") == "" {
			t.Errorf("kept without a reason: %v", k)
		}
	}
	today := clock.Now().UTC()
	for cat, until := range map[string]string{"invoices": today.AddDate(7, 0, 0).Format("2006-01-02"), "payments": "", "trust journal entries": today.AddDate(5, 0, 0).Format("2006-01-02"),
		"trust ledgers": "", "consent log": today.AddDate(4, 0, 0).Format("2006-01-02"), "client identity": "", "matters with trust records": ""} {
		got, ok := kept[cat]
		if !ok || (until != "" && got != until) {
			t.Errorf("kept %s until %q, want %q (kept %v)", cat, got, until, kept)
		}
	}
	if again := s.must(200, "DELETE", "/v1/clients/"+s.clientID+"?erase=true", nil); again.Raw != r.Raw {
		t.Errorf("retry answered differently:\n%s\n%s", again.Raw, r.Raw)
	}

	if left := objectsUnder(t, docPrefix); len(left) != 0 {
		t.Errorf("S3 objects left after erasure: %v", left)
	}
	found := items(s.must(200, "GET", "/v1/clients?q=carla", nil))
	if len(found) != 1 || str(found[0], "privacyHold", "until") == "" || str(found[0], "email") != "" || str(found[0], "phone") != "" {
		t.Errorf("search after erasure = %v", found)
	}
	for _, path := range []string{"/v1/matters/" + s.matter + "/notes", "/v1/matters/" + s.matter + "/documents", "/v1/matters/" + s.matter + "/summaries"} {
		if n := len(items(s.must(200, "GET", path, nil))); n != 0 {
			t.Errorf("%s: %d items after erasure", path, n)
		}
	}
	s.must(404, "GET", "/v1/bookings/"+s.booking, nil)
	for _, m := range items(s.must(200, "GET", "/v1/messages?clientId="+s.clientID, nil)) {
		if str(m, "body") != "" || str(m, "to") != "" {
			t.Errorf("message kept its content: %v", m)
		}
	}
	if inv := s.must(200, "GET", "/v1/invoices/"+s.invoice, nil); str(inv.Body, "clientId") != s.clientID {
		t.Errorf("held invoice = %s", inv.Raw)
	}
	if acts := strings.Join(actionsOf(t, s.account), ","); strings.Count(acts, "client.erased") != 1 {
		t.Errorf("activity = %s", acts)
	}
}

// TestRetentionEndsHolds: after an erasure, each hold ends on its date: the
// consent log goes after 4 years, the invoices, payments and the client's
// identity after 7, when a search by name finds nothing at all. Closed
// matters past the policy go with their documents; each run is logged.
func TestRetentionEndsHolds(t *testing.T) {
	s := newPrivacyScenario(t)
	staff := s.member("staff")
	staff.must(403, "GET", "/v1/privacy/retention", nil)
	if r := s.must(200, "GET", "/v1/privacy/retention", nil); num(r.Body, "closedMatterYears") != 7 || num(r.Body, "auditYears") != 7 {
		t.Errorf("default policy = %s", r.Raw)
	}
	s.must(422, "PATCH", "/v1/privacy/retention", map[string]any{"closedMatterYears": 0})
	s.must(200, "PATCH", "/v1/privacy/retention", map[string]any{"closedMatterYears": 2})
	// A closed matter of another client, with a document: gone after 2 years.
	other := s.newClient("Olga Old")
	old := s.newMatter(other)
	oldDoc := readyDocument(t, s.account, old, "old.pdf", fixture(t, "contract.pdf")).docID
	s.must(200, "PATCH", "/v1/matters/"+old, map[string]any{"status": "closed"})
	s.must(200, "DELETE", "/v1/clients/"+s.clientID+"?erase=true", nil)

	run := func() {
		t.Helper()
		if _, err := privacywire.Privacy(stack.Deps).RunOrg(context.Background(), s.orgID); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if countItems(t, s.orgID, "CONSENTLOG#") != 1 || countItems(t, s.orgID, "INV#") != 1 {
		t.Fatal("a hold ended on the day of the erasure")
	}
	clock.Advance(2*366*24*time.Hour + 24*time.Hour)
	run()
	s.login()
	s.must(404, "GET", "/v1/matters/"+old, nil)
	s.must(404, "GET", "/v1/documents/"+oldDoc, nil)
	if left := objectsUnder(t, "orgs/"+s.orgID+"/matters/"+old+"/"); len(left) != 0 {
		t.Errorf("objects of the expired matter left: %v", left)
	}
	clock.Advance(2*366*24*time.Hour + 24*time.Hour) // past 4 years
	run()
	if n := countItems(t, s.orgID, "CONSENTLOG#"); n != 0 {
		t.Errorf("%d consent log entries after their 4 years", n)
	}
	if countItems(t, s.orgID, "INV#") != 1 || countItems(t, s.orgID, "PAYMENT#") != 1 {
		t.Error("invoices or payments gone before their 7 years")
	}
	clock.Advance(3*366*24*time.Hour + 24*time.Hour) // past 7 years
	run()
	s.login()
	if countItems(t, s.orgID, "INV#")+countItems(t, s.orgID, "PAYMENT#")+countItems(t, s.orgID, "TRUST#E#") != 0 {
		t.Error("held records left after their holds ended")
	}
	if found := items(s.must(200, "GET", "/v1/clients?q=carla", nil)); len(found) != 0 {
		t.Errorf("search after every hold ended = %v", found)
	}
	if acts := strings.Join(actionsOf(t, s.account), ","); !strings.Contains(acts, "privacy.retention_run") || !strings.Contains(acts, "privacy.retention_updated") {
		t.Errorf("activity = %s", acts)
	}
	// The feed shows the run as the system's (its body is checked against
	// the OpenAPI schema, whose actorRole once knew only members' roles).
	var runEntry map[string]any
	for _, e := range items(s.must(200, "GET", "/v1/activity?limit=100", nil)) {
		if e["action"] == "privacy.retention_run" {
			runEntry = e
		}
	}
	if runEntry == nil || runEntry["actorRole"] != "system" || runEntry["actorId"] != "system:retention" {
		t.Errorf("retention run in the feed = %v", runEntry)
	}
}

// TestRestrictClient: while a client's processing is restricted, every
// path that sends their data to a processor answers 409 naming the
// restriction; lifting it lets them through again.
func TestRestrictClient(t *testing.T) {
	o := newSMSOrg(t)
	o.t = t
	matter := o.newMatter(o.clientID)
	doc := readyDocument(t, o.account, matter, "contract.pdf", fixture(t, "contract.pdf")).docID
	o.must(200, "POST", "/v1/billing/credits/grants", map[string]any{"credits": 5, "reason": "restriction"})
	o.member("staff").must(403, "PUT", "/v1/clients/"+o.clientID+"/restriction", map[string]any{"restricted": true})
	o.must(422, "PUT", "/v1/clients/"+o.clientID+"/restriction", map[string]any{"reason": "no flag"})
	o.must(404, "PUT", "/v1/clients/01J00000000000000000000000/restriction", map[string]any{"restricted": true})

	c := o.must(200, "PUT", "/v1/clients/"+o.clientID+"/restriction", map[string]any{"restricted": true, "reason": "Contests accuracy"})
	if str(c.Body, "restriction", "reason") != "Contests accuracy" {
		t.Fatalf("restricted client = %s", c.Raw)
	}
	if r := o.must(200, "GET", "/v1/clients/"+o.clientID, nil); r.Body["restriction"] == nil {
		t.Errorf("the client does not show its restriction: %s", r.Raw)
	}
	for _, req := range []struct {
		path string
		body any
	}{
		{"/v1/messages/sms", map[string]any{"clientId": o.clientID, "body": "Hello", "kind": "general"}},
		{"/v1/messages/email", map[string]any{"clientId": o.clientID, "subject": "Hi", "body": "Hello", "kind": "general"}},
		{"/v1/documents/" + doc + "/summaries", nil},
		{"/v1/documents/" + doc + "/signature-requests", map[string]any{"signers": []map[string]any{{"name": "Ann", "email": "ann@example.com"}}}},
		{"/v1/drafts", map[string]any{"kind": "letter", "instructions": "Thank the client.", "matterId": matter}},
	} {
		if r := o.do("POST", req.path, req.body); r.Status != 409 || str(r.Body, "rule") != "privacy.restricted" {
			t.Errorf("POST %s while restricted = %d %s", req.path, r.Status, r.Raw)
		}
	}
	o.must(200, "PUT", "/v1/clients/"+o.clientID+"/restriction", map[string]any{"restricted": false})
	o.sms(o.client, 202, "Hello again")
	if acts := strings.Join(actionsOf(t, o.account), ","); strings.Count(acts, "client.restriction_changed") != 2 {
		t.Errorf("activity = %s", acts)
	}
}

// TestEraseResumes: an erasure interrupted after its job was recorded and
// part of the client's records deleted (a crash, a timeout) shows no
// success anywhere, and the retry finishes it.
func TestEraseResumes(t *testing.T) {
	a := signup(t)
	a.t = t
	client, matter := clientAndMatter(a)
	note := str(a.must(201, "POST", "/v1/matters/"+matter+"/notes", map[string]any{"body": "Privileged"}).Body, "id")
	a.must(201, "POST", "/v1/clients/"+client+"/notes", map[string]any{"body": "Also privileged"})
	// The crash: the job is recorded as running and one note is gone.
	ctx := context.Background()
	db := stack.Deps.DB
	if err := db.PutItem(ctx, struct {
		store.Keys
		ClientID string    `dynamodbav:"clientId"`
		Status   string    `dynamodbav:"status"`
		By       string    `dynamodbav:"by"`
		Started  time.Time `dynamodbav:"startedAt"`
	}{store.Keys{PK: tenant.PK(a.orgID), SK: "PRIVACY#ERASURE#" + client, Type: "privacyErasure"}, client, "running", a.userID, clock.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Transact(ctx, db.Delete(tenant.PK(a.orgID), "NOTE#"+note, nil)); err != nil {
		t.Fatal(err)
	}
	if acts := strings.Join(actionsOf(t, a), ","); strings.Contains(acts, "client.erased") {
		t.Fatal("an unfinished erasure is logged as done")
	}
	a.must(200, "GET", "/v1/clients/"+client, nil) // not gone before the erasure finished
	r := a.must(200, "DELETE", "/v1/clients/"+client+"?erase=true", nil)
	if num(r.Body, "erased", "notes") != 1 || num(r.Body, "erased", "clients") != 1 || len(r.Body["kept"].([]any)) != 0 {
		t.Errorf("resumed erasure = %s", r.Raw)
	}
	a.must(404, "GET", "/v1/clients/"+client, nil)
	if countItems(t, a.orgID, "NOTE#")+countItems(t, a.orgID, "CLIENTNAME#")+countItems(t, a.orgID, "MATTER#") != 0 {
		t.Error("records left after the resumed erasure")
	}
	if again := a.must(200, "DELETE", "/v1/clients/"+client+"?erase=true", nil); again.Raw != r.Raw {
		t.Errorf("retry after success = %s", again.Raw)
	}
}

// TestRestrictedClientGetsNoReminders: the schedules' own messages (an
// appointment reminder, a case update) do not go to a restricted client.
func TestRestrictedClientGetsNoReminders(t *testing.T) {
	o := newSMSOrg(t)
	o.t = t
	start := clock.Now().Add(23 * time.Hour).UTC().Truncate(time.Minute)
	o.must(201, "POST", "/v1/bookings", map[string]any{"clientId": o.clientID, "title": "Consultation", "startsAt": start.Format(time.RFC3339),
		"endsAt": start.Add(time.Hour).Format(time.RFC3339), "smsReminder": true})
	m := str(o.must(201, "POST", "/v1/matters", map[string]any{"clientId": o.clientID, "title": "Estate of Doe", "clientUpdates": "sms"}).Body, "id")
	o.must(200, "PUT", "/v1/clients/"+o.clientID+"/restriction", map[string]any{"restricted": true, "reason": "Objects to processing"})
	if err := stack.Scheduler.Trigger(context.Background(), ReminderSchedule); err != nil {
		t.Fatal(err)
	}
	o.must(200, "PATCH", "/v1/matters/"+m, map[string]any{"status": "pending"})
	drain(t)
	if sent := twilioFake.to(o.phone); len(sent) != 0 {
		t.Errorf("a restricted client was texted: %v", sent)
	}
}

// TestDeleteOrg: the owner deletes the workspace with its name and their
// password; the answer names the latest ready export; every member is
// signed out at once; the worker erases all but the legal holds.
func TestDeleteOrg(t *testing.T) {
	a := signup(t)
	a.t = t
	name := str(a.must(200, "GET", "/v1/org", nil).Body, "name")
	admin := a.member("admin")
	clientID, matter := clientAndMatter(a)
	a.must(201, "POST", "/v1/matters/"+matter+"/notes", map[string]any{"body": "Privileged"})
	a.must(200, "POST", "/v1/payments/connect", map[string]any{})
	a.must(201, "POST", "/v1/invoices", invoiceBody(clientID, "matterId", matter))
	booking := str(a.must(201, "POST", "/v1/bookings", map[string]any{"clientId": clientID, "matterId": matter, "title": "Intake",
		"startsAt": "2027-01-01T10:00:00Z", "endsAt": "2027-01-01T11:00:00Z"}).Body, "id")
	exp, _ := exportZip(t, a, map[string]any{"scope": "workspace"})
	// The owner's two-factor items (enrolled and a pending sign-in step).
	for _, sk := range []string{"MFA#" + a.userID, "MFATOKEN#01M97NKAMMSX7A7H1PBQ44S5TF"} {
		_, err := stack.Dynamo.Client().PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(store.DefaultTableName),
			Item: map[string]dbtypes.AttributeValue{store.AttrPK: store.S(tenant.PK(a.orgID)), store.AttrSK: store.S(sk), "userId": store.S(a.userID)}})
		if err != nil {
			t.Fatal(err)
		}
	}

	admin.must(403, "DELETE", "/v1/org", map[string]any{"confirm": name, "currentPassword": admin.password})
	a.must(422, "DELETE", "/v1/org", map[string]any{"confirm": name + "x", "currentPassword": a.password})
	if r := a.must(422, "DELETE", "/v1/org", map[string]any{"confirm": name, "currentPassword": "wrong password here"}); !strings.Contains(r.Raw, "currentPassword") {
		t.Errorf("wrong password: %s", r.Raw)
	}
	r := a.must(202, "DELETE", "/v1/org", map[string]any{"confirm": name, "currentPassword": a.password})
	if str(r.Body, "status") != "deleting" || str(r.Body, "latestExport", "id") != str(exp, "id") {
		t.Errorf("deletion = %s", r.Raw)
	}
	for _, m := range []*account{a, admin} {
		if r := m.do("GET", "/v1/me", nil); r.Status != 401 && r.Status != 403 {
			t.Errorf("a member's token still works after the deletion: %d", r.Status)
		}
	}
	if r := (&client{t: t}).do("POST", "/v1/auth/login", map[string]any{"login": a.username, "password": a.password}); r.Status < 400 {
		t.Errorf("sign-in after the deletion = %d", r.Status)
	}
	drain(t)
	if n := countItems(t, a.orgID, "NOTE#") + countItems(t, a.orgID, "CLIENT#") + countItems(t, a.orgID, "USER#"); n != 0 {
		t.Errorf("%d notes, clients or members left", n)
	}
	if countItems(t, a.orgID, "INV#") != 1 {
		t.Error("the held invoice was deleted")
	}
	// The booking's deletion is announced as an ordinary delete's is.
	if n := countItems(t, a.orgID, "BOOKING#"); n != 0 || !slices.Contains(actionsOf(t, a), "booking.deleted") {
		t.Errorf("booking %s: %d left, activity %v", booking, n, actionsOf(t, a))
	}
	if n := countItems(t, a.orgID, "MFA#") + countItems(t, a.orgID, "MFATOKEN#"); n != 0 {
		t.Errorf("%d two-factor items left", n)
	}
	// The owner's address and username are free again.
	again := map[string]any{"orgName": "Firm again", "name": "Olive Owner", "email": a.email, "username": a.username,
		"password": a.password, "timezone": "America/New_York"}
	if r := (&client{t: t, ip: nextIP()}).do("POST", "/v1/auth/signup", again); r.Status != 201 {
		t.Errorf("signing up again with the deleted workspace owner's email = %d %s", r.Status, r.Raw)
	}
}

// TestPrivacyExportHoldsChatAndCalendar: the capabilities that came after
// the registry add themselves to it: a workspace export holds the team's
// chat (threads, members, messages) and the members' calendar settings.
func TestPrivacyExportHoldsChatAndCalendar(t *testing.T) {
	a := signup(t)
	staff := a.member("staff")
	thread := a.must(201, "POST", "/v1/chat/threads", map[string]any{"kind": "group", "name": "Export team", "memberIds": []string{staff.userID}})
	a.must(201, "POST", "/v1/chat/threads/"+str(thread.Body, "id")+"/messages", map[string]any{"text": "Kept for compliance"})
	a.must(200, "PUT", "/v1/calendar/working-hours", map[string]any{"days": []string{"mon"}, "start": "08:00", "end": "16:00"})
	_, zr := exportZip(t, a, map[string]any{"scope": "workspace"})
	files := zipFiles(t, zr)
	counts := checkManifest(t, files)
	for name, want := range map[string]int{"chat-threads": 1, "chat-members": 2, "chat-messages": 1, "calendar-working-hours": 1, "calendar-events": 0} {
		if counts[name] != want {
			t.Errorf("manifest counts %d %s, want %d", counts[name], name, want)
		}
	}
	if !bytes.Contains(files["chat-messages.json"], []byte("Kept for compliance")) {
		t.Errorf("chat-messages.json = %s", files["chat-messages.json"])
	}
}

// TestErasedClientStaysErased: an erased client whose invoices are held
// gets no new personal data (an edit, a note, a booking, a matter: 409
// naming the hold), and when the last hold ends, retention erases every
// record about them, whatever its type (here a note a held client got
// before such writes were refused).
func TestErasedClientStaysErased(t *testing.T) {
	s := newPrivacyScenario(t)
	ctx := context.Background()
	db := stack.Dynamo.Client()
	key := map[string]dbtypes.AttributeValue{store.AttrPK: store.S(tenant.PK(s.orgID)), store.AttrSK: store.S("NOTE#" + s.note)}
	note, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(store.DefaultTableName), Key: key})
	if err != nil || note.Item == nil {
		t.Fatalf("note item: %v", err)
	}
	// Another client's booking, to be moved onto the held client below.
	other := s.newClient("Other Client")
	moved := s.must(201, "POST", "/v1/bookings", map[string]any{"startsAt": "2027-02-02T10:00:00Z", "endsAt": "2027-02-02T11:00:00Z",
		"title": "Other", "clientId": other})
	s.must(200, "DELETE", "/v1/clients/"+s.clientID+"?erase=true", nil)
	slot := map[string]any{"startsAt": "2027-02-01T10:00:00Z", "endsAt": "2027-02-01T11:00:00Z", "title": "Again", "clientId": s.clientID}
	for _, w := range []struct {
		method, path string
		body         map[string]any
	}{
		{"PATCH", "/v1/clients/" + s.clientID, map[string]any{"email": "new@example.com"}},
		{"POST", "/v1/clients/" + s.clientID + "/notes", map[string]any{"body": "New"}},
		{"POST", "/v1/matters/" + s.matter + "/notes", map[string]any{"body": "New"}},
		{"POST", "/v1/bookings", slot},
		{"PATCH", "/v1/bookings/" + str(moved.Body, "id"), map[string]any{"clientId": s.clientID}},
		{"POST", "/v1/matters", map[string]any{"clientId": s.clientID, "title": "Again"}},
		{"POST", "/v1/matters/" + s.matter + "/documents", map[string]any{"fileName": "a.pdf", "contentType": "application/pdf", "size": 10}},
	} {
		if r := s.do(w.method, w.path, w.body); r.Status != 409 || str(r.Body, "rule") != "privacy.held" {
			t.Errorf("%s %s on a held client = %d %s", w.method, w.path, r.Status, r.Raw)
		}
	}
	// The kept matter says it is held, and until when.
	if m := s.must(200, "GET", "/v1/matters/"+s.matter, nil); str(m.Body, "privacyHold", "until") == "" {
		t.Errorf("a held matter = %s", m.Raw)
	}
	// A note written while such writes went through.
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(store.DefaultTableName), Item: note.Item}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(7*366*24*time.Hour + 48*time.Hour)
	if _, err := privacywire.Privacy(stack.Deps).RunOrg(ctx, s.orgID); err != nil {
		t.Fatal(err)
	}
	if left := itemsAbout(t, s.orgID, s.clientID); len(left) != 0 {
		t.Errorf("left of the client after every hold ended: %v", left)
	}
}

// itemsAbout lists the sort keys of the org's items naming clientID,
// but for the activity and audit logs (kept by their own retention) and
// the erasure's own record.
func itemsAbout(t *testing.T, orgID, clientID string) []string {
	t.Helper()
	var left []string
	p := dynamodb.NewQueryPaginator(stack.Dynamo.Client(), &dynamodb.QueryInput{TableName: aws.String(store.DefaultTableName),
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":pk": store.S(tenant.PK(orgID))}})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			sk := it[store.AttrSK].(*dbtypes.AttributeValueMemberS).Value
			c, _ := it["clientId"].(*dbtypes.AttributeValueMemberS)
			if strings.HasPrefix(sk, "ACT#") || strings.HasPrefix(sk, "TRUSTACT#") || strings.HasPrefix(sk, "AUDIT#") || strings.HasPrefix(sk, "PRIVACY#") {
				continue
			}
			if (c != nil && c.Value == clientID) || strings.Contains(sk, clientID) {
				left = append(left, sk)
			}
		}
	}
	return left
}

// TestDeleteOrgPasswordThrottled: the password a workspace's deletion asks
// for is checked against the owner's sign-in budget, so a stolen access
// token cannot guess it there faster than at the sign-in form: after the
// budget's wrong guesses even the right password is refused (429), and
// nothing is deleted.
func TestDeleteOrgPasswordThrottled(t *testing.T) {
	a := signup(t)
	name := str(a.must(200, "GET", "/v1/org", nil).Body, "name")
	for i := range identity.DefaultThrottle.PerAccount {
		if r := a.do("DELETE", "/v1/org", map[string]any{"confirm": name, "currentPassword": fmt.Sprintf("guess number %d", i)}); r.Status != 422 {
			t.Fatalf("guess %d = %d: %s", i, r.Status, r.Raw)
		}
	}
	r := a.do("DELETE", "/v1/org", map[string]any{"confirm": name, "currentPassword": a.password})
	if r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Errorf("the right password after the budget's guesses = %d (Retry-After %q), want 429", r.Status, r.Header.Get("Retry-After"))
	}
	if got := str(a.must(200, "GET", "/v1/org", nil).Body, "name"); got != name {
		t.Errorf("org = %q after refused deletions", got)
	}
}

// TestDeleteOrgLocksAndResumes: once a workspace's deletion started, a
// pending invitation no longer signs anyone in (before the worker ran);
// and a deletion whose job was lost (committed, never queued) is finished
// by the daily retention run.
func TestDeleteOrgLocksAndResumes(t *testing.T) {
	a := signup(t)
	a.t = t
	_, email := a.invite("attorney")
	tok := lastLink(t, email, "/accept-invite?token=")
	name := str(a.must(200, "GET", "/v1/org", nil).Body, "name")
	a.must(202, "DELETE", "/v1/org", map[string]any{"confirm": name, "currentPassword": a.password})
	anon := &client{t: t, ip: nextIP()}
	if r := anon.do("POST", "/v1/auth/invitations/accept", acceptBody(tok)); r.Status < 400 || r.Status >= 500 {
		t.Errorf("accepting an invitation of a workspace being deleted = %d %s", r.Status, r.Raw)
	}
	drain(t)

	// Lost job: deletedAt committed, nothing queued, members still active.
	b := signup(t)
	b.t = t
	clientAndMatter(b)
	_, err := stack.Dynamo.Client().UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: aws.String(store.DefaultTableName),
		Key:                       map[string]dbtypes.AttributeValue{store.AttrPK: store.S(tenant.PK(b.orgID)), store.AttrSK: store.S(tenant.OrgSK)},
		UpdateExpression:          aws.String("SET deletedAt = :t"),
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":t": store.S(clock.Now().UTC().Format(time.RFC3339Nano))}})
	if err != nil {
		t.Fatal(err)
	}
	if r := (&client{t: t, ip: nextIP()}).do("POST", "/v1/auth/login", map[string]any{"login": b.username, "password": b.password}); r.Status < 400 {
		t.Errorf("sign-in to a workspace being deleted = %d", r.Status)
	}
	if _, err := privacywire.Privacy(stack.Deps).RunOrg(context.Background(), b.orgID); err != nil {
		t.Fatal(err)
	}
	if n := countItems(t, b.orgID, "CLIENT#") + countItems(t, b.orgID, "MATTER#") + countItems(t, b.orgID, "USER#"); n != 0 {
		t.Errorf("%d clients, matters or members left after the retention run", n)
	}
}

// TestEraseExpiresExports: erasing a client expires, at once, the ready
// exports that hold them (their own and the workspace's): no download
// link, and the zips are deleted.
func TestEraseExpiresExports(t *testing.T) {
	a := signup(t)
	a.t = t
	clientID, matter := clientAndMatter(a)
	a.must(201, "POST", "/v1/matters/"+matter+"/notes", map[string]any{"body": "Privileged"})
	other, _ := clientAndMatter(a)
	mine, _ := exportZip(t, a, map[string]any{"scope": "client", "clientId": clientID})
	theirs, _ := exportZip(t, a, map[string]any{"scope": "client", "clientId": other})
	all, _ := exportZip(t, a, map[string]any{"scope": "workspace"})
	a.must(200, "DELETE", "/v1/clients/"+clientID+"?erase=true", nil)
	for _, e := range []map[string]any{mine, all} {
		got := a.must(200, "GET", "/v1/privacy/exports/"+str(e, "id"), nil)
		if str(got.Body, "status") != "expired" || str(got.Body, "downloadUrl") != "" {
			t.Errorf("an export holding the erased client = %s", got.Raw)
		}
	}
	if got := a.must(200, "GET", "/v1/privacy/exports/"+str(theirs, "id"), nil); str(got.Body, "status") != "ready" {
		t.Errorf("another client's export = %s", got.Raw)
	}
	if left := objectsUnder(t, "exports/"+a.orgID+"/"); len(left) != 1 {
		t.Errorf("export zips left: %v (want only the other client's)", left)
	}
}

// TestPrivacyExportClientHoldsNoStaffData: a client's export names the
// staff who acted on the client's records (actorId) but carries none of
// their personal data: not the addresses nor the browsers their requests
// came from, in any file. The workspace export, for the owner, keeps them.
func TestPrivacyExportClientHoldsNoStaffData(t *testing.T) {
	a := signup(t)
	a.t = t
	staff := a.member("staff")
	staff.ip = nextIP()
	const ownerUA, staffUA = "OwnerBrowser/7.1 (Macintosh; owner-laptop)", "StaffBrowser/3.2 (Windows NT 10.0; staff-desktop)"
	client := a.newClient("Clara Client")
	if r := a.do("PATCH", "/v1/clients/"+client, map[string]any{"phone": "+15555550142"}, "User-Agent", ownerUA); r.Status != 200 {
		t.Fatalf("owner's edit = %d %s", r.Status, r.Raw)
	}
	if r := staff.do("POST", "/v1/clients/"+client+"/notes", map[string]any{"body": "Called back"}, "User-Agent", staffUA); r.Status != 201 {
		t.Fatalf("staff's note = %d %s", r.Status, r.Raw)
	}
	drain(t)

	_, zr := exportZip(t, a, map[string]any{"scope": "client", "clientId": client})
	files := zipFiles(t, zr)
	counts := checkManifest(t, files)
	if counts["activity"] < 3 {
		t.Fatalf("client export activity = %d entries, want the client's (%v)", counts["activity"], counts)
	}
	for name, b := range files {
		for _, staffData := range []string{a.ip, staff.ip, ownerUA, staffUA, "Go-http-client", `"ip"`, `"userAgent"`} {
			if bytes.Contains(b, []byte(staffData)) {
				t.Errorf("client export %s holds staff data %q", name, staffData)
			}
		}
	}
	if !bytes.Contains(files["activity.json"], []byte(staff.userID)) {
		t.Error("the client export does not name the staff member who acted")
	}

	_, zr = exportZip(t, a, map[string]any{"scope": "workspace"})
	all := zipFiles(t, zr)
	for _, want := range []string{staff.ip, staffUA, ownerUA} {
		if !bytes.Contains(all["activity.json"], []byte(want)) {
			t.Errorf("the workspace export lacks %q", want)
		}
	}
}

// outlookCopies counts the events written to cal of the Microsoft user
// for bookingID.
func outlookCopies(user, cal, bookingID string) int {
	n := 0
	for _, e := range msgraphFake.Events(user, cal) {
		if e.TransactionID == bookingID {
			n++
		}
	}
	return n
}

// TestEraseRemovesOutlookCopies: bookings an erasure deletes, and those
// the retention run deletes with a closed matter, announce booking.deleted
// as an ordinary delete does, so the calendar worker removes the copies it
// wrote to members' Outlook calendars (organizer's and attendee's alike).
func TestEraseRemovesOutlookCopies(t *testing.T) {
	a := signup(t)
	a.t = t
	m := a.member("attorney")
	user, cal := connectCalendar(t, a)
	mUser, mCal := connectCalendar(t, m)
	start := clock.Now().UTC().Truncate(time.Hour).Add(72 * time.Hour)
	book := func(client, matter, title string) string {
		t.Helper()
		body := map[string]any{"clientId": client, "title": title, "startsAt": start.Format(time.RFC3339),
			"endsAt": start.Add(time.Hour).Format(time.RFC3339), "attendees": []string{m.userID}}
		if matter != "" {
			body["matterId"] = matter
		}
		return str(a.must(201, "POST", "/v1/bookings", body).Body, "id")
	}
	erased, erasedMatter := clientAndMatter(a)
	b1 := book(erased, erasedMatter, "Erased client's call")
	kept := a.newClient("Kim Kept")
	oldMatter := a.newMatter(kept)
	b2 := book(kept, oldMatter, "Old matter's call")
	b3 := book(kept, "", "Kept client's call")
	drain(t)
	for _, b := range []string{b1, b2, b3} {
		if outlookCopies(user, cal, b) != 1 || outlookCopies(mUser, mCal, b) != 1 {
			t.Fatalf("booking %s was not written to both calendars", b)
		}
	}

	r := a.must(200, "DELETE", "/v1/clients/"+erased+"?erase=true", nil)
	if num(r.Body, "erased", "bookings") != 1 {
		t.Fatalf("erasure = %s", r.Raw)
	}
	drain(t)
	if n, mn := outlookCopies(user, cal, b1), outlookCopies(mUser, mCal, b1); n != 0 || mn != 0 {
		t.Errorf("Outlook copies of the erased client's booking left: organizer %d, attendee %d", n, mn)
	}
	if outlookCopies(user, cal, b2) != 1 || outlookCopies(user, cal, b3) != 1 {
		t.Error("an erasure removed another client's bookings from Outlook")
	}

	// Retention: the closed matter's booking goes once the policy allows.
	a.must(200, "PATCH", "/v1/privacy/retention", map[string]any{"closedMatterYears": 1})
	a.must(200, "PATCH", "/v1/matters/"+oldMatter, map[string]any{"status": "closed"})
	clock.Advance(366*24*time.Hour + 24*time.Hour)
	if _, err := privacywire.Privacy(stack.Deps).RunOrg(context.Background(), a.orgID); err != nil {
		t.Fatal(err)
	}
	drain(t)
	if n, mn := outlookCopies(user, cal, b2), outlookCopies(mUser, mCal, b2); n != 0 || mn != 0 {
		t.Errorf("Outlook copies of the expired matter's booking left: organizer %d, attendee %d", n, mn)
	}
	if outlookCopies(user, cal, b3) != 1 {
		t.Error("retention removed a booking of no expired matter from Outlook")
	}
	acts := strings.Join(actionsOf(t, a), ",")
	if strings.Count(acts, "booking.deleted") != 2 {
		t.Errorf("activity = %s", acts)
	}
}

// outlookBooking signs up an org whose owner has a connected calendar and
// books a matter's appointment, written to that calendar once the queue
// drains: the owner, their Graph user and calendar, and the booking's id.
func outlookBooking(t *testing.T) (a *account, user, cal, booking string) {
	t.Helper()
	a = signup(t)
	a.t = t
	user, cal = connectCalendar(t, a)
	client, matter := clientAndMatter(a)
	start := clock.Now().UTC().Truncate(time.Hour).Add(72 * time.Hour)
	booking = str(a.must(201, "POST", "/v1/bookings", map[string]any{"clientId": client, "matterId": matter, "title": "Last call",
		"startsAt": start.Format(time.RFC3339), "endsAt": start.Add(time.Hour).Format(time.RFC3339)}).Body, "id")
	drain(t)
	return a, user, cal, booking
}

// TestDeleteOrgRemovesOutlookCopies: deleting the workspace removes the
// bookings written to its members' Outlook calendars (before their
// calendar connections go), as deleting each booking would.
func TestDeleteOrgRemovesOutlookCopies(t *testing.T) {
	a, user, cal, b := outlookBooking(t)
	if outlookCopies(user, cal, b) != 1 {
		t.Fatal("the booking was not written to Outlook")
	}
	name := str(a.must(200, "GET", "/v1/org", nil).Body, "name")
	a.must(202, "DELETE", "/v1/org", map[string]any{"confirm": name, "currentPassword": a.password})
	drain(t)
	if n := outlookCopies(user, cal, b); n != 0 {
		t.Errorf("%d Outlook copies left after the workspace's deletion", n)
	}
	if n := countItems(t, a.orgID, "BOOKING#"); n != 0 {
		t.Errorf("%d bookings left", n)
	}
}

// TestDeleteOrgWithoutGraph: the privacy worker that runs a workspace's
// deletion in AWS has no Microsoft secret and no use of the calendar's
// token key (infra: only the calendar function and worker do), so its
// calendar service cannot reach Graph. Its DeleteOrg hands the erasure to
// the calendar worker and deletes nothing that worker needs (the tokens,
// connections and Outlook links). And the deletion never fails for ever
// (which would keep the workspace's calendar data): the worker's job, when
// Graph keeps failing, erases without Graph on its last try.
func TestDeleteOrgWithoutGraph(t *testing.T) {
	a, user, cal, b := outlookBooking(t)
	if outlookCopies(user, cal, b) != 1 {
		t.Fatal("the booking was not written to Outlook")
	}
	name := str(a.must(200, "GET", "/v1/org", nil).Body, "name")
	a.must(202, "DELETE", "/v1/org", map[string]any{"confirm": name, "currentPassword": a.password}) // its job waits in the queue
	ctx := context.Background()
	svc := calendarwire.Calendar(stack.Deps)
	svc.Graph = nil // the privacy worker's, in AWS
	if err := svc.DeleteOrg(ctx, calendar.WorkspaceActor(a.orgID), a.orgID); err != nil {
		t.Fatalf("DeleteOrg without Graph: %v", err)
	}
	for _, pf := range []string{"CALWRITE#", "CALTOKEN#", "CALCONN#"} {
		if n := countItems(t, a.orgID, pf); n == 0 {
			t.Errorf("DeleteOrg without Graph deleted the %s items the calendar worker needs", pf)
		}
	}
	// The calendar worker, Microsoft failing every deletion of an event.
	w := calendarwire.Calendar(stack.Deps)
	w.Graph = failingDeletes{w.Graph}
	job, _ := json.Marshal(calendar.Job{Kind: calendar.JobEraseOrg, OrgID: a.orgID})
	try := func(receives string) events.SQSEventResponse {
		resp, err := calendar.NewWorker(w).Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m-" + receives, Body: string(job),
			Attributes: map[string]string{"ApproximateReceiveCount": receives}}}})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := try("1"); len(resp.BatchItemFailures) != 1 {
		t.Errorf("the first try with Graph failing = %+v, want a failure (tried again)", resp)
	}
	if n := countItems(t, a.orgID, "CALTOKEN#"); n == 0 {
		t.Error("a failed try deleted the tokens the next one needs")
	}
	if resp := try("5"); len(resp.BatchItemFailures) != 0 {
		t.Errorf("the last try = %+v, want the erasure done without Graph", resp)
	}
	for _, pf := range calendarPrefixes {
		if n := countItems(t, a.orgID, pf); n != 0 {
			t.Errorf("%d %s items left after the last try", n, pf)
		}
	}
	drain(t) // the workspace's deletion, and the calendar job DeleteOrg queued: nothing left to do
	if !erased(t, a.orgID) {
		t.Error("the workspace's deletion did not finish")
	}
}

// failingDeletes is Graph failing every deletion of an event.
type failingDeletes struct{ calendar.Graph }

func (failingDeletes) DeleteEvent(context.Context, string, string) error {
	return errors.New("graph: 503 service unavailable")
}

// calendarPrefixes are the sort key prefixes of every calendar item of an org.
var calendarPrefixes = []string{"CALCONN#", "CALTOKEN#", "CALSYNC#", "CALEVT#", "CALHOURS#", "CALSTATE#", "CALWRITE#"}

// erased reports whether the workspace's deletion finished (erasedAt).
func erased(t *testing.T, orgID string) bool {
	t.Helper()
	var org struct {
		ErasedAt string `dynamodbav:"erasedAt"`
	}
	if err := stack.Deps.DB.Get(context.Background(), tenant.PK(orgID), tenant.OrgSK, &org); err != nil {
		t.Fatal(err)
	}
	return org.ErasedAt != ""
}

// privacyWorkerAsInAWS is the privacy worker's service as AWS builds it:
// the stack's table, queues and clock, and no Microsoft secret (nor the
// calendar's token key: infra gives both to the calendar functions only).
func privacyWorkerAsInAWS(t *testing.T) *privacy.Service {
	t.Helper()
	cfg := stack.Deps.Config
	cfg.MSClientSecret = ""
	d, err := platform.New(context.Background(), cfg, platform.Options{Dynamo: stack.Dynamo.Client(), Queue: stack.Broker, Now: clock.Now, LogOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if calendarwire.MSGraph(d, nil) != nil {
		t.Fatal("the privacy worker has Graph")
	}
	return privacywire.Privacy(d)
}

// TestDeleteOrgAsInAWS: a workspace's deletion with the functions built
// as AWS builds them, the privacy worker without Graph and the calendar
// worker with it: the bookings written to the members' Outlook calendars
// are deleted there, the Graph subscriptions too, and no calendar item is
// left; the calendar job delivered again finds nothing to do.
func TestDeleteOrgAsInAWS(t *testing.T) {
	a, user, cal, b := outlookBooking(t)
	subs := func() int {
		n := 0
		for _, s := range msgraphFake.Subscriptions() {
			if s.User == user {
				n++
			}
		}
		return n
	}
	if outlookCopies(user, cal, b) != 1 || subs() == 0 {
		t.Fatalf("the booking was not written to Outlook (%d) or the calendar not subscribed to (%d)", outlookCopies(user, cal, b), subs())
	}
	worker := privacyWorkerAsInAWS(t)
	name := str(a.must(200, "GET", "/v1/org", nil).Body, "name")
	a.must(202, "DELETE", "/v1/org", map[string]any{"confirm": name, "currentPassword": a.password})
	// The deletion's job, run by the privacy worker as AWS builds it (the
	// queue's copy reaches the stack's own later: a redelivery).
	ctx := context.Background()
	job, _ := json.Marshal(map[string]string{"orgId": a.orgID, "kind": "delete-org"})
	resp, err := worker.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "delete-org", Body: string(job)}}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("the privacy worker's job = %+v, %v", resp, err)
	}
	if !erased(t, a.orgID) {
		t.Error("the privacy worker did not finish the workspace's deletion")
	}
	dead := len(stack.Broker.DLQ(calendar.Queue))
	drain(t) // the calendar worker's job
	if n := outlookCopies(user, cal, b); n != 0 {
		t.Errorf("%d Outlook copies left after the workspace's deletion", n)
	}
	if n := subs(); n != 0 {
		t.Errorf("%d Graph subscriptions left", n)
	}
	for _, pf := range calendarPrefixes {
		if n := countItems(t, a.orgID, pf); n != 0 {
			t.Errorf("%d %s items left", n, pf)
		}
	}
	again, _ := json.Marshal(calendar.Job{Kind: calendar.JobEraseOrg, OrgID: a.orgID})
	if err := stack.Broker.Send(ctx, calendar.Queue, string(again), nil); err != nil {
		t.Fatal(err)
	}
	drain(t)
	if n := len(stack.Broker.DLQ(calendar.Queue)); n != dead {
		t.Errorf("%d calendar jobs dead-lettered", n-dead)
	}
}

// TestHeldMatterStaysAsHeld: a matter kept after its client's erasure
// (held for the law) takes no edit either: a new title or description is
// new data about an erased client, and reopening it would count an open
// matter on a held client (409 naming the hold, as for a new note).
func TestHeldMatterStaysAsHeld(t *testing.T) {
	s := newPrivacyScenario(t)
	s.must(200, "DELETE", "/v1/clients/"+s.clientID+"?erase=true", nil)
	before := s.must(200, "GET", "/v1/matters/"+s.matter, nil)
	if str(before.Body, "privacyHold", "until") == "" {
		t.Fatalf("the matter is not held: %s", before.Raw)
	}
	for _, body := range []map[string]any{{"title": "Renamed after the erasure"}, {"description": "New facts about the erased client"}} {
		if r := s.do("PATCH", "/v1/matters/"+s.matter, body); r.Status != 409 || str(r.Body, "rule") != "privacy.held" {
			t.Errorf("PATCH %v on a held matter = %d %s", body, r.Status, r.Raw)
		}
	}
	if after := s.must(200, "GET", "/v1/matters/"+s.matter, nil); str(after.Body, "title") != str(before.Body, "title") {
		t.Errorf("the held matter's title changed: %s", after.Raw)
	}
	// Closing it still goes through (its hold's period runs from the end).
	s.must(200, "PATCH", "/v1/matters/"+s.matter, map[string]any{"status": "closed"})
	if r := s.do("PATCH", "/v1/matters/"+s.matter, map[string]any{"status": "open"}); r.Status != 409 || str(r.Body, "rule") != "privacy.held" {
		t.Errorf("reopening a held matter = %d %s", r.Status, r.Raw)
	}
}

// completeHook runs before the export's zip is completed in S3: after the
// worker has read every row into it, before the export is marked ready.
type completeHook struct {
	privacy.ObjectStore
	before func()
}

func (h *completeHook) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	if h.before != nil {
		h.before()
		h.before = nil
	}
	return h.ObjectStore.CompleteMultipartUpload(ctx, in, opts...)
}

// TestErasureDuringExportBuild: an export being built while a client is
// erased has read the client's rows before they went; it must not become
// a ready download of them afterwards (the erasure expires only the
// exports already ready).
func TestErasureDuringExportBuild(t *testing.T) {
	s := newPrivacyScenario(t)
	created := s.must(202, "POST", "/v1/privacy/exports", map[string]any{"scope": "workspace"})
	id := str(created.Body, "id")
	svc := privacywire.Privacy(stack.Deps)
	svc.S3 = &completeHook{ObjectStore: svc.S3, before: func() {
		s.must(200, "DELETE", "/v1/clients/"+s.clientID+"?erase=true", nil)
	}}
	if err := svc.Build(context.Background(), s.orgID, id); err != nil {
		t.Logf("build: %v", err)
	}
	drain(t)
	got := s.must(200, "GET", "/v1/privacy/exports/"+id, nil)
	if str(got.Body, "status") != "ready" {
		return // not handed out: what it read of the client is not downloadable
	}
	url := str(got.Body, "downloadUrl")
	if url == "" {
		return
	}
	resp, zipBytes := fetch(t, url)
	if resp.StatusCode != 200 {
		return
	}
	zr, err := zip.NewReader(bytes.NewReader(zipBytes), int64(len(zipBytes)))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range zipFiles(t, zr) {
		if bytes.Contains(b, []byte("Privileged strategy")) {
			t.Errorf("an export built across the client's erasure is ready with their erased note in %s: %s", name, got.Raw)
		}
	}
}
