package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/matterly/matterly/shared/esign"
)

// dropboxSignKey is the tests' Dropbox Sign API key.
const dropboxSignKey = "dbx_test_matterly_key"

// dropboxSignFake stands in for Dropbox Sign's API v3: it refuses any
// call without the API key as Basic auth user, checks the exact multipart
// form of a send, and serves each request's signed PDF after answering
// 409 (still being prepared) once.
var dropboxSignFake = &fakeDropboxSign{sent: map[string]sentForm{}, files: map[string]int{}}

type sentForm struct {
	fields   map[string]string
	fileName string
	fileType string
	file     []byte
}

type fakeDropboxSign struct {
	mu       sync.Mutex
	n        int
	sent     map[string]sentForm // by signature_request_id
	files    map[string]int      // downloads asked, by signature_request_id
	canceled []string
	reminded []string // id + " " + email
}

// signedPDF is what the fake serves as a request's signed file.
func signedPDF(id string) []byte {
	return []byte("%PDF-1.7\n% signed copy of " + id + "\n%%EOF\n")
}

func (f *fakeDropboxSign) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != dropboxSignKey || pass != "" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"error_msg":"Unauthorized api key","error_name":"unauthorized"}}`)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == "POST" && r.URL.Path == "/v3/signature_request/send":
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			http.Error(w, `{"error":{"error_msg":"not multipart","error_name":"bad_request"}}`, http.StatusBadRequest)
			return
		}
		form := sentForm{fields: map[string]string{}}
		for k, v := range r.MultipartForm.Value {
			form.fields[k] = v[0]
		}
		if fh := r.MultipartForm.File["file[0]"]; len(fh) == 1 {
			form.fileName, form.fileType = fh[0].Filename, fh[0].Header.Get("Content-Type")
			fd, _ := fh[0].Open()
			form.file, _ = io.ReadAll(fd)
			_ = fd.Close()
		}
		f.n++
		id := fmt.Sprintf("fa%038d", f.n)
		f.sent[id] = form
		var sigs []map[string]any
		for i := 0; ; i++ {
			email, ok := form.fields[fmt.Sprintf("signers[%d][email_address]", i)]
			if !ok {
				break
			}
			sigs = append(sigs, map[string]any{"signature_id": fmt.Sprintf("sig%d_%s", i, id), "signer_email_address": email, "status_code": "awaiting_signature"})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"signature_request": map[string]any{"signature_request_id": id, "signatures": sigs}})
	case r.Method == "POST" && strings.HasPrefix(r.URL.Path, "/v3/signature_request/cancel/"):
		f.canceled = append(f.canceled, strings.TrimPrefix(r.URL.Path, "/v3/signature_request/cancel/"))
	case r.Method == "POST" && strings.HasPrefix(r.URL.Path, "/v3/signature_request/remind/"):
		var in struct {
			Email string `json:"email_address"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		f.reminded = append(f.reminded, strings.TrimPrefix(r.URL.Path, "/v3/signature_request/remind/")+" "+in.Email)
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v3/signature_request/files/") && r.URL.Query().Get("file_type") == "pdf":
		id := strings.TrimPrefix(r.URL.Path, "/v3/signature_request/files/")
		f.files[id]++
		if f.files[id] == 1 {
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"error":{"error_msg":"Files are still being processed. Please try again later.","error_name":"conflict"}}`)
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		_, _ = w.Write(signedPDF(id))
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeDropboxSign) form(id string) sentForm {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sent[id]
}

func (f *fakeDropboxSign) downloads(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.files[id]
}

// providerIDOf is the Dropbox Sign id the fake gave the send whose
// metadata names request id.
func (f *fakeDropboxSign) providerIDOf(t testing.TB, id string) string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for pid, form := range f.sent {
		if form.fields["metadata[matterlyRequestId]"] == id {
			return pid
		}
	}
	t.Fatalf("no send for request %s", id)
	return ""
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
	pid := dropboxSignFake.providerIDOf(t, id)
	form := dropboxSignFake.form(pid)
	want := map[string]string{"title": "contract.pdf", "subject": "Engagement letter", "message": "Please sign.",
		"signers[0][name]": "Ann Client", "signers[0][email_address]": "ann@example.com", "signers[0][order]": "0",
		"signers[1][name]": "Bob Witness", "signers[1][email_address]": "bob@example.com", "signers[1][order]": "1",
		"metadata[matterlyRequestId]": id, "metadata[orgId]": a.orgID, "test_mode": "1"}
	for k, v := range want {
		if form.fields[k] != v {
			t.Errorf("sent %s = %q, want %q", k, form.fields[k], v)
		}
	}
	if len(form.fields) != len(want) || form.fileName != "contract.pdf" || form.fileType != "application/pdf" || !bytes.Equal(form.file, pdf) {
		t.Errorf("sent form %v, file %q %q %d bytes", form.fields, form.fileName, form.fileType, len(form.file))
	}
	dropboxSignFake.mu.Lock()
	sends := dropboxSignFake.n
	dropboxSignFake.mu.Unlock()

	s1, s2 := "sig0_"+pid, "sig1_"+pid
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
	if _, b := fetch(t, str(d, "downloadUrl")); !bytes.Equal(b, signedPDF(pid)) {
		t.Errorf("signed download = %q", b)
	}
	if n := dropboxSignFake.downloads(pid); n != 2 {
		t.Errorf("%d downloads asked, want 2 (a 409, then the file)", n)
	}
	list := items(a.must(200, "GET", "/v1/matters/"+matter+"/signature-requests", nil))
	if len(list) != 1 || str(list[0], "id") != id {
		t.Errorf("matter's requests = %v", list)
	}
	dropboxSignFake.mu.Lock()
	defer dropboxSignFake.mu.Unlock()
	if dropboxSignFake.n != sends {
		t.Errorf("%d sends after the callbacks, want %d", dropboxSignFake.n, sends)
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
	pid := dropboxSignFake.providerIDOf(t, id)
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
	dropboxSignFake.mu.Lock()
	defer dropboxSignFake.mu.Unlock()
	if !contains(dropboxSignFake.reminded, pid+" ann@example.com") || !contains(dropboxSignFake.canceled, pid) {
		t.Errorf("reminded %v, canceled %v", dropboxSignFake.reminded, dropboxSignFake.canceled)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
