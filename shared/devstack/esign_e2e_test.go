package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"slices"
	"sync"
	"testing"

	"github.com/matterly/matterly/shared/esign"
	"github.com/matterly/matterly/shared/providers/dropboxsign/dropboxsigntest"
)

// dropboxSignKey is the tests' Dropbox Sign API key.
const dropboxSignKey = "dbx_test_matterly_key"

// dropboxSignFake stands in for Dropbox Sign (see dropboxsigntest): the
// exact multipart form of each send, Basic auth, the signed file after a
// 409 once.
var dropboxSignFake = dropboxsigntest.New(dropboxSignKey)

// providerIDOf is the Dropbox Sign id the stand-in gave request id's send.
func providerIDOf(t testing.TB, id string) string {
	t.Helper()
	pid := dropboxSignFake.ProviderIDOf(id)
	if pid == "" {
		t.Fatalf("no send for request %s", id)
	}
	return pid
}

// dropboxSignEvent posts a callback as Dropbox Sign does (the event JSON
// in the multipart field "json", hashed with key) and runs the queues.
func dropboxSignEvent(t testing.TB, key, typ string, at int64, providerID, sigID string, sigs []map[string]any) result {
	t.Helper()
	ts := fmt.Sprint(at)
	ev := map[string]any{"event": map[string]any{"event_time": ts, "event_type": typ, "event_hash": esign.EventHash(key, ts, typ),
		"event_metadata": map[string]any{"related_signature_id": sigID, "reported_for_account_id": "acct1"}}}
	if providerID != "" {
		ev["signature_request"] = map[string]any{"signature_request_id": providerID, "signatures": sigs}
	}
	js, _ := json.Marshal(ev)
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("json", string(js))
	_ = w.Close()
	r := (&client{t: t}).do("POST", "/webhooks/dropbox-sign", buf.Bytes(), "Content-Type", w.FormDataContentType())
	if err := stack.Broker.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestESignSendSignStoreOnce is the acceptance flow: a matter's
// PDF sent to two signers; signed callbacks arrive (one twice, one out of
// order); the signed PDF appears once among the matter's documents and
// downloads byte for byte as Dropbox Sign served it (after a 409 once);
// the request shows signed with both signers' times.
func TestESignSendSignStoreOnce(t *testing.T) {
	a := signup(t)
	_, matter := clientAndMatter(a)
	pdf := fixture(t, "contract.pdf")
	doc := readyDocument(t, a, matter, "contract.pdf", pdf).docID
	body := map[string]any{"signers": []map[string]any{{"name": "Ann Client", "email": "Ann@Example.com"}, {"name": "Bob Witness", "email": "bob@example.com"}},
		"subject": "Engagement letter", "message": "Please sign.", "ordered": true}
	r := a.do("POST", "/v1/documents/"+doc+"/signature-requests", body, "Idempotency-Key", "send-"+doc)
	if r.Status != 201 {
		t.Fatalf("send = %d %s", r.Status, r.Raw)
	}
	id := str(r.Body, "id")
	if str(r.Body, "status") != "awaiting_signature" || str(r.Body, "documentId") != doc || str(r.Body, "matterId") != matter {
		t.Errorf("sent = %v", r.Body)
	}
	// A retry under the same key answers the first request and sends nothing.
	again := a.do("POST", "/v1/documents/"+doc+"/signature-requests", body, "Idempotency-Key", "send-"+doc)
	if again.Status != 201 || str(again.Body, "id") != id || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry = %d %s", again.Status, again.Raw)
	}
	pid := providerIDOf(t, id)
	form := dropboxSignFake.Form(pid)
	want := map[string]string{"title": "contract.pdf", "subject": "Engagement letter", "message": "Please sign.",
		"signers[0][name]": "Ann Client", "signers[0][email_address]": "ann@example.com", "signers[0][order]": "0",
		"signers[1][name]": "Bob Witness", "signers[1][email_address]": "bob@example.com", "signers[1][order]": "1",
		"metadata[matterlyRequestId]": id, "metadata[orgId]": a.orgID, "test_mode": "1"}
	for k, v := range want {
		if form.Fields[k] != v {
			t.Errorf("sent %s = %q, want %q", k, form.Fields[k], v)
		}
	}
	if len(form.Fields) != len(want) || form.FileName != "contract.pdf" || form.FileType != "application/pdf" || !bytes.Equal(form.File, pdf) {
		t.Errorf("sent form %v, file %q %q %d bytes", form.Fields, form.FileName, form.FileType, len(form.File))
	}
	sends := dropboxSignFake.Sends()

	s1, s2 := dropboxsigntest.SignatureID(0, pid), dropboxsigntest.SignatureID(1, pid)
	signed := func(sig string, at int64) map[string]any {
		return map[string]any{"signature_id": sig, "status_code": "signed", "signed_at": at}
	}
	waiting := func(sig string) map[string]any {
		return map[string]any{"signature_id": sig, "status_code": "awaiting_signature"}
	}
	const t0 = 1767225600
	events := []struct {
		typ  string
		at   int64
		sig  string
		sigs []map[string]any
	}{
		{"signature_request_signed", t0 + 20, s2, []map[string]any{signed(s1, t0+10), signed(s2, t0+20)}}, // out of order: before s1's
		{"signature_request_viewed", t0 + 5, s1, []map[string]any{waiting(s1), waiting(s2)}},
		{"signature_request_signed", t0 + 10, s1, []map[string]any{signed(s1, t0+10), waiting(s2)}},
		{"signature_request_signed", t0 + 10, s1, []map[string]any{signed(s1, t0+10), waiting(s2)}}, // twice
		{"signature_request_all_signed", t0 + 21, "", []map[string]any{signed(s1, t0+10), signed(s2, t0+20)}},
		{"signature_request_downloadable", t0 + 22, "", []map[string]any{signed(s1, t0+10), signed(s2, t0+20)}},
		{"signature_request_downloadable", t0 + 22, "", []map[string]any{signed(s1, t0+10), signed(s2, t0+20)}}, // twice
	}
	for _, e := range events {
		if r := dropboxSignEvent(t, dropboxSignKey, e.typ, e.at, pid, e.sig, e.sigs); r.Status != 200 || r.Raw != esign.CallbackAnswer {
			t.Fatalf("%s = %d %q", e.typ, r.Status, r.Raw)
		}
	}
	got := a.must(200, "GET", "/v1/signature-requests/"+id, nil).Body
	signers, _ := got["signers"].([]any)
	if str(got, "status") != "signed" || len(signers) != 2 {
		t.Fatalf("request = %v", got)
	}
	for i, at := range []string{"2026-01-01T00:00:10Z", "2026-01-01T00:00:20Z"} {
		sg := signers[i].(map[string]any)
		if str(sg, "status") != "signed" || str(sg, "signedAt") != at {
			t.Errorf("signer %d = %v, want signed at %s", i, sg, at)
		}
	}
	signedDoc := str(got, "signedDocumentId")
	var copies []map[string]any
	for _, d := range items(a.must(200, "GET", "/v1/matters/"+matter+"/documents", nil)) {
		if str(d, "signatureRequestId") == id {
			copies = append(copies, d)
		}
	}
	if len(copies) != 1 || str(copies[0], "id") != signedDoc || str(copies[0], "fileName") != "contract (signed).pdf" || str(copies[0], "signedFrom") != doc {
		t.Fatalf("signed copies = %v (signedDocumentId %q)", copies, signedDoc)
	}
	d := a.must(200, "GET", "/v1/documents/"+signedDoc, nil).Body
	if _, b := fetch(t, str(d, "downloadUrl")); !bytes.Equal(b, dropboxsigntest.SignedPDF(pid)) {
		t.Errorf("signed download = %q", b)
	}
	if n := dropboxSignFake.Downloads(pid); n != 2 {
		t.Errorf("%d downloads asked, want 2 (a 409, then the file)", n)
	}
	list := items(a.must(200, "GET", "/v1/matters/"+matter+"/signature-requests", nil))
	if len(list) != 1 || str(list[0], "id") != id {
		t.Errorf("matter's requests = %v", list)
	}
	if n := dropboxSignFake.Sends(); n != sends {
		t.Errorf("%d sends after the callbacks, want %d", n, sends)
	}
}

// TestDropboxSignCallbackRefusals: a wrong hash is a 401 and stores
// nothing; callback_test is answered as Dropbox Sign requires; an event
// of a request Matterly did not send is acknowledged.
func TestDropboxSignCallbackRefusals(t *testing.T) {
	a := signup(t)
	before := countItems(t, a.orgID, "")
	for _, tc := range []struct {
		name, key, typ, pid string
		want                int
	}{
		{"wrong key", "not-the-key", "signature_request_signed", "fa0", 401},
		{"callback test", dropboxSignKey, "callback_test", "", 200},
		{"unknown request", dropboxSignKey, "signature_request_signed", "ffffffffffffffffffffffffffffffffffffffff", 200},
	} {
		r := dropboxSignEvent(t, tc.key, tc.typ, 1669926463, tc.pid, "", nil)
		if r.Status != tc.want || (tc.want == 200 && r.Raw != esign.CallbackAnswer) {
			t.Errorf("%s = %d %q", tc.name, r.Status, r.Raw)
		}
	}
	if countItems(t, a.orgID, "") != before {
		t.Error("a refused callback stored something")
	}
}

// TestESignCancelRemindAndRules: remind and cancel reach Dropbox Sign;
// a canceled request can be neither; staff may read but not send; a
// pending document cannot be sent.
func TestESignCancelRemindAndRules(t *testing.T) {
	a := signup(t)
	_, matter := clientAndMatter(a)
	doc := readyDocument(t, a, matter, "nda.pdf", fixture(t, "contract.pdf")).docID
	body := map[string]any{"signers": []map[string]any{{"name": "Ann Client", "email": "ann@example.com"}}}
	id := str(a.must(201, "POST", "/v1/documents/"+doc+"/signature-requests", body).Body, "id")
	pid := providerIDOf(t, id)
	a.must(200, "POST", "/v1/signature-requests/"+id+"/remind", map[string]any{"email": "ann@example.com"})
	if r := a.do("POST", "/v1/signature-requests/"+id+"/remind", map[string]any{"email": "zed@example.com"}); r.Status != 422 {
		t.Errorf("remind a non-signer = %d %s", r.Status, r.Raw)
	}
	staff := a.member("staff")
	if r := staff.do("POST", "/v1/documents/"+doc+"/signature-requests", body); r.Status != 403 {
		t.Errorf("staff send = %d", r.Status)
	}
	staff.must(200, "GET", "/v1/signature-requests/"+id, nil)
	if got := a.must(200, "POST", "/v1/signature-requests/"+id+"/cancel", nil).Body; str(got, "status") != "canceled" {
		t.Errorf("canceled = %v", got)
	}
	if r := a.do("POST", "/v1/signature-requests/"+id+"/cancel", nil); r.Status != 409 {
		t.Errorf("cancel twice = %d", r.Status)
	}
	// Dropbox Sign's own canceled callback, after ours, changes nothing.
	dropboxSignEvent(t, dropboxSignKey, "signature_request_canceled", 1767225700, pid, "", nil)
	pending := startUpload(t, a, matter, "draft.pdf", "application/pdf", 100).docID
	if r := a.do("POST", "/v1/documents/"+pending+"/signature-requests", body); r.Status != 409 {
		t.Errorf("send a pending document = %d %s", r.Status, r.Raw)
	}
	if !slices.Contains(dropboxSignFake.Reminded(), pid+" ann@example.com") || !slices.Contains(dropboxSignFake.Canceled(), pid) {
		t.Errorf("reminded %v, canceled %v", dropboxSignFake.Reminded(), dropboxSignFake.Canceled())
	}
}

// TestESignConcurrentRetrySendsOnce: the same send, under one
// Idempotency-Key, four times at once reaches Dropbox Sign once, and every
// answer is that one request.
func TestESignConcurrentRetrySendsOnce(t *testing.T) {
	a := signup(t)
	_, matter := clientAndMatter(a)
	doc := readyDocument(t, a, matter, "lease.pdf", fixture(t, "contract.pdf")).docID
	body := map[string]any{"signers": []map[string]any{{"name": "Ann Client", "email": "ann@example.com"}}}
	const n = 4
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := a.do("POST", "/v1/documents/"+doc+"/signature-requests", body, "Idempotency-Key", "lease-"+doc)
			if r.Status != 201 {
				t.Errorf("send = %d %s", r.Status, r.Raw)
			}
			ids <- str(r.Body, "id")
		}()
	}
	wg.Wait()
	close(ids)
	first := ""
	for id := range ids {
		if first == "" {
			first = id
		}
		if id != first || id == "" {
			t.Errorf("answers name requests %q and %q", first, id)
		}
	}
	if n := dropboxSignFake.SendsOf(first); n != 1 {
		t.Errorf("request %s sent to Dropbox Sign %d times, want once", first, n)
	}
	list := items(a.must(200, "GET", "/v1/matters/"+matter+"/signature-requests", nil))
	if len(list) != 1 {
		t.Errorf("%d requests on the matter, want 1", len(list))
	}
}
