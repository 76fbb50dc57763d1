package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/matterly/matterly/shared/documents"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// samplePDF is a small valid PDF whose bytes differ by text.
func samplePDF(text string) []byte {
	return []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" +
		"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n" +
		"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n" +
		"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >> endobj\n" +
		"4 0 obj << /Length " + strconv.Itoa(len(text)+24) + " >> stream\nBT /F1 12 Tf (" + text + ") Tj ET\nendstream endobj\n" +
		"trailer << /Root 1 0 R >>\n%%EOF\n")
}

func samplePNGBytes(t testing.TB) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// newMatter creates a client and a matter through the API.
func clientAndMatter(a *account) (clientID, matterID string) {
	a.t.Helper()
	clientID = a.newClient("Casey Client")
	return clientID, a.newMatter(clientID)
}

// readyDocument uploads data as a new document of the matter and completes it.
func readyDocument(t testing.TB, a *account, matterID, fileName string, data []byte) upload {
	t.Helper()
	up := startUpload(t, a, matterID, fileName, "application/pdf", len(data))
	if st := up.send(t, data); st != 200 {
		t.Fatalf("PUT to the upload URL = %d", st)
	}
	a.must(200, "POST", "/v1/documents/"+up.docID+"/complete", nil)
	return up
}

// upload is a started upload as the API answered it.
type upload struct {
	docID   string
	url     string
	method  string
	headers map[string]string
	body    map[string]any
}

func startUpload(t testing.TB, a *account, matterID, fileName, contentType string, size int) upload {
	t.Helper()
	r := a.must(201, "POST", "/v1/matters/"+matterID+"/documents", map[string]any{"fileName": fileName, "contentType": contentType, "size": size})
	return uploadOf(t, r)
}

func uploadOf(t testing.TB, r result) upload {
	t.Helper()
	var body struct {
		Document struct {
			ID string `json:"id"`
		} `json:"document"`
		Upload struct {
			URL     string            `json:"url"`
			Method  string            `json:"method"`
			Headers map[string]string `json:"headers"`
		} `json:"upload"`
	}
	if err := json.Unmarshal([]byte(r.Raw), &body); err != nil {
		t.Fatal(err)
	}
	return upload{docID: body.Document.ID, url: body.Upload.URL, method: body.Upload.Method, headers: body.Upload.Headers, body: r.Body}
}

// send PUTs data to the presigned URL with exactly the returned headers,
// as a browser would (Content-Length comes from the body). change edits
// the headers first.
func (u upload) send(t testing.TB, data []byte, change ...func(h map[string]string)) int {
	t.Helper()
	h := map[string]string{}
	for k, v := range u.headers {
		h[k] = v
	}
	for _, f := range change {
		f(h)
	}
	req, err := http.NewRequest(u.method, u.url, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		if http.CanonicalHeaderKey(k) == "Content-Length" {
			continue // net/http sends the body's length
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// stagedKey is the object key the upload URL writes to.
func (u upload) stagedKey(t testing.TB) string {
	t.Helper()
	p, err := url.Parse(u.url)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(p.Path, "/"+stack.S3.Bucket()+"/")
}

// fetch GETs a download URL.
func fetch(t testing.TB, rawURL string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// objectExists asks the embedded S3 directly.
func objectExists(t testing.TB, key string) bool {
	t.Helper()
	_, err := stack.S3.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(stack.S3.Bucket()), Key: aws.String(key)})
	return err == nil
}

// actions lists the activity actions of a matter, oldest first.
func actions(t testing.TB, a *account, matterID string) []string {
	t.Helper()
	r := a.must(200, "GET", "/v1/activity?limit=100&matterId="+matterID, nil)
	items, _ := r.Body["items"].([]any)
	var out []string
	for i := len(items) - 1; i >= 0; i-- {
		e, _ := items[i].(map[string]any)
		out = append(out, str(e, "action"))
	}
	return out
}

func num(m map[string]any, path ...string) float64 {
	var cur any = m
	for _, p := range path {
		obj, _ := cur.(map[string]any)
		cur = obj[p]
	}
	f, _ := cur.(float64)
	return f
}

// events collects the document events of the local bus.
var docEvents = struct {
	once sync.Once
	mu   sync.Mutex
	seen []events.EventBridgeEvent
}{}

func documentEvents(t testing.TB) func() []events.EventBridgeEvent {
	docEvents.once.Do(func() {
		for _, dt := range []string{"document.ready", "document.deleted"} {
			stack.Bus.Subscribe(dt, func(_ context.Context, ev events.EventBridgeEvent) error {
				docEvents.mu.Lock()
				docEvents.seen = append(docEvents.seen, ev)
				docEvents.mu.Unlock()
				return nil
			})
		}
	})
	return func() []events.EventBridgeEvent {
		docEvents.mu.Lock()
		defer docEvents.mu.Unlock()
		return slices.Clone(docEvents.seen)
	}
}

func TestDocumentLifecycle(t *testing.T) {
	seen := documentEvents(t)
	a := signup(t)
	clientID, matterID := clientAndMatter(a)
	v1 := samplePDF("first draft")
	fileName := "Settlement – privileged memo.pdf"

	up := startUpload(t, a, matterID, fileName, "application/pdf", len(v1))
	doc, _ := up.body["document"].(map[string]any)
	if str(doc, "status") != "pending" || num(doc, "version") != 1 || num(doc, "versionCount") != 0 ||
		str(doc, "matterId") != matterID || str(doc, "clientId") != clientID || str(doc, "fileName") != fileName {
		t.Errorf("created document = %v", doc)
	}
	if up.method != "PUT" {
		t.Errorf("upload method %q", up.method)
	}
	wantHeaders := map[string]string{"Content-Type": "application/pdf", "Content-Length": strconv.Itoa(len(v1)), "X-Amz-Server-Side-Encryption": "aws:kms"}
	if fmt.Sprint(up.headers) != fmt.Sprint(wantHeaders) {
		t.Errorf("upload headers = %v, want %v", up.headers, wantHeaders)
	}
	key := documents.ObjectKey(a.orgID, matterID, up.docID, 1)
	if staged := up.stagedKey(t); !strings.HasPrefix(staged, documents.StagingPrefix(a.orgID, up.docID)+"1/") {
		t.Errorf("upload URL writes to %q, not to a staging key of version 1", staged)
	}
	if strings.Contains(up.url, "Settlement") || strings.Contains(up.url, "memo") {
		t.Errorf("the file name leaks into the upload URL: %s", up.url)
	}
	if exp, err := time.Parse(time.RFC3339, str(up.body, "upload", "expiresAt")); err != nil || time.Until(exp) < 14*time.Minute || time.Until(exp) > 16*time.Minute {
		t.Errorf("upload expiresAt %q", str(up.body, "upload", "expiresAt"))
	}

	// Complete before the upload: nothing landed yet.
	r := a.must(409, "POST", "/v1/documents/"+up.docID+"/complete", nil)
	if !strings.Contains(str(r.Body, "detail"), "PUT the file to the upload URL first") {
		t.Errorf("complete without upload: %s", r.Raw)
	}
	// A pending document is listed and readable, without a download link.
	r = a.must(200, "GET", "/v1/documents/"+up.docID, nil)
	if str(r.Body, "status") != "pending" || str(r.Body, "downloadUrl") != "" || num(r.Body, "pendingUpload", "version") != 1 {
		t.Errorf("pending document = %s", r.Raw)
	}
	a.must(404, "GET", "/v1/documents/"+up.docID+"?version=1", nil)
	r = a.must(200, "GET", "/v1/matters/"+matterID+"/documents", nil)
	if items, _ := r.Body["items"].([]any); len(items) != 1 || str(items[0].(map[string]any), "status") != "pending" {
		t.Errorf("list with a pending document = %s", r.Raw)
	}
	// The first upload can be started again (its URL expired, say): a fresh
	// URL for version 1, and the document describes the new declaration.
	restart := a.must(201, "POST", "/v1/documents/"+up.docID+"/versions", map[string]any{"fileName": "b.pdf", "contentType": "application/pdf", "size": 10})
	if num(restart.Body, "document", "pendingUpload", "version") != 1 || str(restart.Body, "document", "fileName") != "b.pdf" {
		t.Errorf("restarted first upload = %s", restart.Raw)
	}
	up = uploadOf(t, a.must(201, "POST", "/v1/documents/"+up.docID+"/versions", map[string]any{"fileName": fileName, "contentType": "application/pdf", "size": len(v1)}))

	// Upload with exactly the returned headers, then complete.
	if st := up.send(t, v1); st != 200 {
		t.Fatalf("PUT to the upload URL = %d", st)
	}
	if objectExists(t, key) {
		t.Error("the upload reached the version's key before complete")
	}
	r = a.must(200, "POST", "/v1/documents/"+up.docID+"/complete", nil)
	head, err := stack.S3.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(stack.S3.Bucket()), Key: aws.String(key)})
	if err != nil || string(head.ServerSideEncryption) != "aws:kms" || aws.ToString(head.ContentType) != "application/pdf" {
		t.Fatalf("stored object: %v, %v", head, err)
	}
	if objectExists(t, up.stagedKey(t)) {
		t.Error("the staged upload survived its complete")
	}
	if str(r.Body, "status") != "ready" || num(r.Body, "version") != 1 || num(r.Body, "versionCount") != 1 || r.Body["pendingUpload"] != nil {
		t.Errorf("completed document = %s", r.Raw)
	}
	a.must(409, "POST", "/v1/documents/"+up.docID+"/complete", nil) // already complete
	var ready *events.EventBridgeEvent
	for _, ev := range seen() {
		if ev.DetailType == "document.ready" && strings.Contains(string(ev.Detail), up.docID) {
			ready = &ev
		}
	}
	if ready == nil {
		t.Error("no document.ready event")
	} else {
		var detail map[string]any
		_ = json.Unmarshal(ready.Detail, &detail)
		if str(detail, "orgId") != a.orgID || str(detail, "matterId") != matterID || str(detail, "clientId") != clientID ||
			str(detail, "actorId") != a.userID || str(detail, "documentId") != up.docID || str(detail, "id") == "" || strings.Contains(string(ready.Detail), "Settlement") {
			t.Errorf("document.ready detail = %s", ready.Detail)
		}
	}
	if r := a.must(200, "GET", "/v1/matters/"+matterID, nil); num(r.Body, "documentCount") != 1 {
		t.Errorf("matter documentCount = %v", r.Body["documentCount"])
	}
	// A matter with documents cannot be deleted.
	a.must(409, "DELETE", "/v1/matters/"+matterID, nil)

	// Read: the link downloads the very bytes, as an attachment by default.
	r = a.must(200, "GET", "/v1/documents/"+up.docID, nil)
	if strings.Contains(r.Raw, `"objectKey"`) || strings.Contains(r.Raw, `"s3VersionId"`) || strings.Contains(r.Raw, `"PK"`) {
		t.Errorf("response leaks storage details: %s", r.Raw)
	}
	if exp, err := time.Parse(time.RFC3339, str(r.Body, "downloadUrlExpiresAt")); err != nil || time.Until(exp) > 6*time.Minute || time.Until(exp) < 4*time.Minute {
		t.Errorf("downloadUrlExpiresAt %q", str(r.Body, "downloadUrlExpiresAt"))
	}
	resp, got := fetch(t, str(r.Body, "downloadUrl"))
	if resp.StatusCode != 200 || !bytes.Equal(got, v1) {
		t.Fatalf("download = %d, %d bytes", resp.StatusCode, len(got))
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") || !strings.Contains(cd, "filename*=UTF-8''Settlement%20%E2%80%93%20privileged%20memo.pdf") {
		t.Errorf("Content-Disposition %q", cd)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("Content-Type %q", ct)
	}
	r = a.must(200, "GET", "/v1/documents/"+up.docID+"?disposition=inline", nil)
	if resp, _ := fetch(t, str(r.Body, "downloadUrl")); !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "inline") || str(r.Body, "downloadDisposition") != "inline" {
		t.Errorf("inline Content-Disposition %q", resp.Header.Get("Content-Disposition"))
	}

	// A new version: the current one stays readable until it completes.
	v2 := samplePDF("second draft, with the other side's changes")
	r = a.must(201, "POST", "/v1/documents/"+up.docID+"/versions", map[string]any{"fileName": "memo v2.pdf", "contentType": "application/pdf", "size": len(v2)})
	up2 := uploadOf(t, r)
	doc, _ = r.Body["document"].(map[string]any)
	if str(doc, "status") != "ready" || num(doc, "version") != 1 || num(doc, "pendingUpload", "version") != 2 || str(doc, "pendingUpload", "fileName") != "memo v2.pdf" {
		t.Errorf("document with a pending version = %v", doc)
	}
	if !strings.HasPrefix(up2.stagedKey(t), documents.StagingPrefix(a.orgID, up.docID)+"2/") {
		t.Errorf("version 2 upload URL %s", up2.url)
	}
	r = a.must(200, "GET", "/v1/documents/"+up.docID, nil)
	if _, got := fetch(t, str(r.Body, "downloadUrl")); !bytes.Equal(got, v1) || num(r.Body, "downloadVersion") != 1 {
		t.Error("the current version is not readable while a new one uploads")
	}
	if st := up2.send(t, v2); st != 200 {
		t.Fatalf("PUT version 2 = %d", st)
	}
	r = a.must(200, "POST", "/v1/documents/"+up.docID+"/complete", nil)
	if num(r.Body, "version") != 2 || num(r.Body, "versionCount") != 2 || str(r.Body, "fileName") != "memo v2.pdf" || num(r.Body, "size") != float64(len(v2)) {
		t.Errorf("after version 2: %s", r.Raw)
	}
	r = a.must(200, "GET", "/v1/documents/"+up.docID, nil)
	if _, got := fetch(t, str(r.Body, "downloadUrl")); !bytes.Equal(got, v2) {
		t.Error("the current version is not version 2")
	}
	r = a.must(200, "GET", "/v1/documents/"+up.docID+"?version=1", nil)
	if resp, got := fetch(t, str(r.Body, "downloadUrl")); !bytes.Equal(got, v1) || num(r.Body, "downloadVersion") != 1 ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "Settlement") {
		t.Error("version 1 is not downloadable as itself after version 2")
	}
	a.must(404, "GET", "/v1/documents/"+up.docID+"?version=3", nil)
	a.must(422, "GET", "/v1/documents/"+up.docID+"?version=one", nil)
	a.must(422, "GET", "/v1/documents/"+up.docID+"?version=0", nil)
	a.must(422, "GET", "/v1/documents/"+up.docID+"?disposition=download", nil)

	// Versions, newest first, paginated.
	r = a.must(200, "GET", "/v1/documents/"+up.docID+"/versions", nil)
	items, _ := r.Body["items"].([]any)
	if len(items) != 2 || num(items[0].(map[string]any), "version") != 2 || num(items[1].(map[string]any), "version") != 1 ||
		str(items[1].(map[string]any), "fileName") != fileName || str(items[0].(map[string]any), "uploadedBy") != a.userID {
		t.Errorf("versions = %s", r.Raw)
	}
	if strings.Contains(r.Raw, "objectKey") || strings.Contains(r.Raw, "s3VersionId") {
		t.Errorf("versions leak storage details: %s", r.Raw)
	}
	r = a.must(200, "GET", "/v1/documents/"+up.docID+"/versions?limit=1", nil)
	cursor := str(r.Body, "nextCursor")
	if items, _ := r.Body["items"].([]any); len(items) != 1 || cursor == "" {
		t.Fatalf("first page = %s", r.Raw)
	}
	r = a.must(200, "GET", "/v1/documents/"+up.docID+"/versions?limit=1&cursor="+url.QueryEscape(cursor), nil)
	if items, _ := r.Body["items"].([]any); len(items) != 1 || num(items[0].(map[string]any), "version") != 1 || str(r.Body, "nextCursor") != "" {
		t.Errorf("second page = %s", r.Raw)
	}
	// A cursor only fits its own list.
	a.must(400, "GET", "/v1/matters/"+matterID+"/documents?cursor="+url.QueryEscape(cursor), nil)

	// Delete: a staff member may not; an owner removes the bytes and the record.
	staff := a.member("staff")
	staff.must(403, "DELETE", "/v1/documents/"+up.docID, nil)
	a.must(204, "DELETE", "/v1/documents/"+up.docID, nil)
	for n := 1; n <= 2; n++ {
		if objectExists(t, documents.ObjectKey(a.orgID, matterID, up.docID, n)) {
			t.Errorf("version %d's object survived the delete", n)
		}
	}
	a.must(404, "GET", "/v1/documents/"+up.docID, nil)
	a.must(404, "GET", "/v1/documents/"+up.docID+"/versions", nil)
	a.must(404, "DELETE", "/v1/documents/"+up.docID, nil)
	a.must(404, "POST", "/v1/documents/"+up.docID+"/complete", nil)
	r = a.must(200, "GET", "/v1/matters/"+matterID+"/documents", nil)
	if items, _ := r.Body["items"].([]any); len(items) != 0 {
		t.Errorf("list after delete = %s", r.Raw)
	}
	if r := a.must(200, "GET", "/v1/matters/"+matterID, nil); num(r.Body, "documentCount") != 0 {
		t.Errorf("matter documentCount after delete = %v", r.Body["documentCount"])
	}
	if n := countItems(t, a.orgID, "DOC#"+up.docID); n != 0 {
		t.Errorf("%d document items left", n)
	}

	want := []string{"document.created", "document.version_started", "document.version_started", "document.ready", "document.downloaded", "document.viewed", "document.version_started",
		"document.downloaded", "document.ready", "document.downloaded", "document.downloaded", "document.deleted"}
	var got2 []string
	for _, act := range actions(t, a, matterID) {
		if strings.HasPrefix(act, "document.") {
			got2 = append(got2, act)
		}
	}
	if !slices.Equal(got2, want) {
		t.Errorf("activity = %q\nwant       %q", got2, want)
	}
	// The matter can go now.
	a.must(204, "DELETE", "/v1/matters/"+matterID, nil)
}

// countItems counts the org's items whose sort key starts with prefix
// (the test's own view of the table).
func countItems(t testing.TB, orgID, prefix string) int {
	t.Helper()
	out, err := stack.Dynamo.Client().Query(context.Background(), &dynamodb.QueryInput{TableName: aws.String(store.DefaultTableName),
		KeyConditionExpression:    aws.String("PK = :pk AND begins_with(SK, :sk)"),
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":pk": store.S(tenant.PK(orgID)), ":sk": store.S(prefix)}})
	if err != nil {
		t.Fatal(err)
	}
	return int(out.Count)
}

// TestDocumentUploadChecks: complete refuses an upload that is not what was
// declared, deletes it, and lets the uploader try again.
func TestDocumentUploadChecks(t *testing.T) {
	t.Parallel()
	a := signup(t)
	_, matterID := clientAndMatter(a)
	pdf := samplePDF("the right file")

	t.Run("wrong size", func(t *testing.T) {
		up := startUpload(t, a, matterID, "a.pdf", "application/pdf", len(pdf)+100)
		// S3 refuses a body of another size than the signed Content-Length;
		// the stand-in checks no signatures, so complete must catch it.
		if st := up.send(t, pdf); st != 200 {
			t.Fatalf("PUT = %d", st)
		}
		r := a.must(422, "POST", "/v1/documents/"+up.docID+"/complete", nil)
		if !strings.Contains(r.Raw, `"field":"size"`) {
			t.Errorf("wrong size: %s", r.Raw)
		}
		if objectExists(t, up.stagedKey(t)) || objectExists(t, documents.ObjectKey(a.orgID, matterID, up.docID, 1)) {
			t.Error("the refused object was kept")
		}
		if r := a.must(200, "GET", "/v1/documents/"+up.docID, nil); str(r.Body, "status") != "pending" {
			t.Errorf("after a refused upload: %s", r.Raw)
		}
		// The right bytes through the same URL complete it.
		right := append(slices.Clone(pdf), bytes.Repeat([]byte("\n"), 100)...)
		up.send(t, right)
		a.must(200, "POST", "/v1/documents/"+up.docID+"/complete", nil)
	})
	t.Run("PNG declared as PDF", func(t *testing.T) {
		img := samplePNGBytes(t)
		up := startUpload(t, a, matterID, "scan.pdf", "application/pdf", len(img))
		up.send(t, img)
		r := a.must(422, "POST", "/v1/documents/"+up.docID+"/complete", nil)
		if str(r.Body, "detail") != "The file is not a PDF." {
			t.Errorf("PNG as PDF: %s", r.Raw)
		}
		if objectExists(t, up.stagedKey(t)) || objectExists(t, documents.ObjectKey(a.orgID, matterID, up.docID, 1)) {
			t.Error("the refused object was kept")
		}
	})
	t.Run("without SSE-KMS", func(t *testing.T) {
		up := startUpload(t, a, matterID, "b.pdf", "application/pdf", len(pdf))
		up.send(t, pdf, func(h map[string]string) { delete(h, "X-Amz-Server-Side-Encryption") })
		r := a.must(422, "POST", "/v1/documents/"+up.docID+"/complete", nil)
		if !strings.Contains(r.Raw, `"field":"encryption"`) {
			t.Errorf("without SSE: %s", r.Raw)
		}
	})
	t.Run("other content type", func(t *testing.T) {
		up := startUpload(t, a, matterID, "c.pdf", "application/pdf", len(pdf))
		up.send(t, pdf, func(h map[string]string) { h["Content-Type"] = "application/octet-stream" })
		r := a.must(422, "POST", "/v1/documents/"+up.docID+"/complete", nil)
		if !strings.Contains(r.Raw, `"field":"contentType"`) {
			t.Errorf("other content type: %s", r.Raw)
		}
	})
	t.Run("text file", func(t *testing.T) {
		text := []byte("Dear counsel,\nPlease find the notes below.\n")
		up := startUpload(t, a, matterID, "notes.txt", "text/plain; charset=utf-8", len(text))
		if up.headers["Content-Type"] != "text/plain" {
			t.Errorf("signed Content-Type %q, want the canonical type", up.headers["Content-Type"])
		}
		up.send(t, text)
		r := a.must(200, "POST", "/v1/documents/"+up.docID+"/complete", nil)
		if str(r.Body, "contentType") != "text/plain" {
			t.Errorf("text document = %s", r.Raw)
		}
	})
}

// TestDocumentVersionRules: replacing a pending version upload, and the cap.
func TestDocumentVersionRules(t *testing.T) {
	t.Parallel()
	a := signup(t)
	_, matterID := clientAndMatter(a)
	pdf := samplePDF("v1")
	up := readyDocument(t, a, matterID, "a.pdf", pdf)

	// A version upload replaced before completing: the first one's bytes
	// are gone and cannot be completed as the replacement.
	stale := samplePDF("stale")
	r := a.must(201, "POST", "/v1/documents/"+up.docID+"/versions", map[string]any{"fileName": "b.pdf", "contentType": "application/pdf", "size": len(stale)})
	uploadOf(t, r).send(t, stale)
	fresh := samplePDF("fresher")
	r = a.must(201, "POST", "/v1/documents/"+up.docID+"/versions", map[string]any{"fileName": "c.pdf", "contentType": "application/pdf", "size": len(fresh)})
	up2 := uploadOf(t, r)
	if doc, _ := r.Body["document"].(map[string]any); num(doc, "pendingUpload", "version") != 2 || str(doc, "pendingUpload", "fileName") != "c.pdf" {
		t.Errorf("replacement = %v", doc)
	}
	a.must(409, "POST", "/v1/documents/"+up.docID+"/complete", nil)
	up2.send(t, fresh)
	r = a.must(200, "POST", "/v1/documents/"+up.docID+"/complete", nil)
	if num(r.Body, "version") != 2 || str(r.Body, "fileName") != "c.pdf" {
		t.Errorf("after the replacement completed: %s", r.Raw)
	}

	// The cap: a document with MaxVersions versions takes no more.
	_, err := stack.Dynamo.Client().UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: aws.String(store.DefaultTableName),
		Key:                       store.Key(tenant.PK(a.orgID), "DOC#"+up.docID),
		UpdateExpression:          aws.String("SET versionCount = :n"),
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":n": store.N(documents.MaxVersions)}})
	if err != nil {
		t.Fatal(err)
	}
	r = a.must(409, "POST", "/v1/documents/"+up.docID+"/versions", map[string]any{"fileName": "d.pdf", "contentType": "application/pdf", "size": 10})
	if !strings.Contains(str(r.Body, "detail"), "50 versions") {
		t.Errorf("cap: %s", r.Raw)
	}
}

// TestDocumentReplayedUploadURL: an upload URL, still valid after its
// complete, cannot replace the version (the download keeps the checked
// bytes and type), nor leave an object under a deleted document's keys;
// a complete without a staged object answers as before.
func TestDocumentReplayedUploadURL(t *testing.T) {
	t.Parallel()
	a := signup(t)
	_, matterID := clientAndMatter(a)
	v1 := samplePDF("the checked file")
	up := startUpload(t, a, matterID, "a.pdf", "application/pdf", len(v1))
	a.must(409, "POST", "/v1/documents/"+up.docID+"/complete", nil) // nothing staged yet
	if st := up.send(t, v1); st != 200 {
		t.Fatalf("PUT = %d", st)
	}
	a.must(200, "POST", "/v1/documents/"+up.docID+"/complete", nil)

	other := samplePDF("a replayed upload")
	if st := up.send(t, other, func(h map[string]string) { h["Content-Type"] = "text/html" }); st != 200 {
		t.Fatalf("replayed PUT = %d", st) // the stand-in checks no signatures
	}
	r := a.must(200, "GET", "/v1/documents/"+up.docID, nil)
	resp, got := fetch(t, str(r.Body, "downloadUrl"))
	if !bytes.Equal(got, v1) || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Errorf("download after a replayed PUT = %q as %q, want the checked file", got, resp.Header.Get("Content-Type"))
	}
	a.must(409, "POST", "/v1/documents/"+up.docID+"/complete", nil)

	// A new version still uploads and completes.
	v2 := samplePDF("the second version")
	up2 := uploadOf(t, a.must(201, "POST", "/v1/documents/"+up.docID+"/versions", map[string]any{"fileName": "a.pdf", "contentType": "application/pdf", "size": len(v2)}))
	up2.send(t, v2)
	a.must(200, "POST", "/v1/documents/"+up.docID+"/complete", nil)
	r = a.must(200, "GET", "/v1/documents/"+up.docID+"?version=1", nil)
	if _, got := fetch(t, str(r.Body, "downloadUrl")); !bytes.Equal(got, v1) {
		t.Errorf("version 1 after a replayed PUT and version 2 = %q", got)
	}

	a.must(204, "DELETE", "/v1/documents/"+up.docID, nil)
	up.send(t, other)
	up2.send(t, other)
	prefix := "orgs/" + a.orgID + "/matters/" + matterID + "/documents/" + up.docID + "/"
	if keys := objectsUnder(t, prefix); len(keys) != 0 {
		t.Errorf("objects under the deleted document's keys: %q", keys)
	}
	// The replays are staged only, which nothing reads and the bucket's
	// lifecycle rule for staging/ removes.
	if keys := objectsUnder(t, documents.StagingPrefix(a.orgID, up.docID)); len(keys) != 2 {
		t.Errorf("staged after the delete: %q", keys)
	}
}

// objectsUnder lists the embedded S3's keys under prefix.
func objectsUnder(t testing.TB, prefix string) []string {
	t.Helper()
	out, err := stack.S3.Client().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(stack.S3.Bucket()), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// TestDocumentRoles: billing never reads documents; staff upload but do
// not delete; attorneys delete.
func TestDocumentRoles(t *testing.T) {
	t.Parallel()
	a := signup(t)
	_, matterID := clientAndMatter(a)
	pdf := samplePDF("roles")
	staff, billing, attorney := a.member("staff"), a.member("billing"), a.member("attorney")

	up := readyDocument(t, staff, matterID, "staff.pdf", pdf)
	staff.must(200, "GET", "/v1/documents/"+up.docID, nil)
	staff.must(201, "POST", "/v1/documents/"+up.docID+"/versions", map[string]any{"fileName": "s2.pdf", "contentType": "application/pdf", "size": len(pdf)})

	body := map[string]any{"fileName": "x.pdf", "contentType": "application/pdf", "size": 10}
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/matters/" + matterID + "/documents"},
		{"GET", "/v1/documents/" + up.docID},
		{"GET", "/v1/documents/" + up.docID + "?version=1"},
		{"GET", "/v1/documents/" + up.docID + "/versions"},
		{"POST", "/v1/matters/" + matterID + "/documents"},
		{"POST", "/v1/documents/" + up.docID + "/complete"},
		{"POST", "/v1/documents/" + up.docID + "/versions"},
		{"DELETE", "/v1/documents/" + up.docID},
	} {
		var b any
		if c.method == "POST" && !strings.HasSuffix(c.path, "/complete") {
			b = body
		}
		if r := billing.do(c.method, c.path, b); r.Status != 403 || strings.Contains(r.Raw, "staff.pdf") {
			t.Errorf("billing %s %s = %d: %s", c.method, c.path, r.Status, r.Raw)
		}
	}
	staff.must(403, "DELETE", "/v1/documents/"+up.docID, nil)
	attorney.must(204, "DELETE", "/v1/documents/"+up.docID, nil)
}

// TestDocumentOtherOrg: another org's owner gets 404 for every document
// route aimed at our matter and document, and changes nothing.
func TestDocumentOtherOrg(t *testing.T) {
	t.Parallel()
	a := signup(t)
	_, matterID := clientAndMatter(a)
	pdf := samplePDF("ours")
	up := readyDocument(t, a, matterID, "ours.pdf", pdf)
	before := a.must(200, "GET", "/v1/documents/"+up.docID+"/versions", nil).Raw

	other := signup(t)
	body := map[string]any{"fileName": "x.pdf", "contentType": "application/pdf", "size": 10}
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/matters/" + matterID + "/documents", nil},
		{"POST", "/v1/matters/" + matterID + "/documents", body},
		{"GET", "/v1/documents/" + up.docID, nil},
		{"GET", "/v1/documents/" + up.docID + "?version=1", nil},
		{"POST", "/v1/documents/" + up.docID + "/complete", nil},
		{"POST", "/v1/documents/" + up.docID + "/versions", body},
		{"GET", "/v1/documents/" + up.docID + "/versions", nil},
		{"DELETE", "/v1/documents/" + up.docID, nil},
	} {
		if r := other.do(c.method, c.path, c.body); r.Status != 404 || strings.Contains(r.Raw, "ours.pdf") || strings.Contains(r.Raw, a.orgID) {
			t.Errorf("other org %s %s = %d: %s", c.method, c.path, r.Status, r.Raw)
		}
	}
	if got := a.must(200, "GET", "/v1/documents/"+up.docID+"/versions", nil).Raw; got != before {
		t.Errorf("versions changed by the other org:\n%s\n%s", before, got)
	}
	if !objectExists(t, documents.ObjectKey(a.orgID, matterID, up.docID, 1)) {
		t.Error("the other org deleted our object")
	}
}

// TestDocumentBadInputs: every bad declaration is a 422 naming the field
// (or a 400/404) and writes nothing.
func TestDocumentBadInputs(t *testing.T) {
	a := signup(t)
	_, matterID := clientAndMatter(a)
	pdf := samplePDF("bad inputs")
	up := readyDocument(t, a, matterID, "ok.pdf", pdf)

	valid := func() map[string]any {
		return map[string]any{"fileName": "brief.pdf", "contentType": "application/pdf", "size": 1234}
	}
	tests := []struct {
		name   string
		change map[string]any
		raw    string
		status int
		field  string
	}{
		{name: "bad content type", change: map[string]any{"contentType": "application/x-msdownload"}, status: 422, field: "contentType"},
		{name: "no content type", change: map[string]any{"contentType": ""}, status: 422, field: "contentType"},
		{name: "size 0", change: map[string]any{"size": 0}, status: 422, field: "size"},
		{name: "negative size", change: map[string]any{"size": -5}, status: 422, field: "size"},
		{name: "over 100 MiB", change: map[string]any{"size": 100<<20 + 1}, status: 422, field: "size"},
		{name: "fractional size", change: map[string]any{"size": 1.5}, status: 422, field: "size"},
		{name: "size as string", change: map[string]any{"size": "1234"}, status: 422, field: "size"},
		{name: "path traversal", change: map[string]any{"fileName": "../x.pdf"}, status: 422, field: "fileName"},
		{name: "extension mismatch", change: map[string]any{"fileName": "brief.exe"}, status: 422, field: "fileName"},
		{name: "no file name", change: map[string]any{"fileName": ""}, status: 422, field: "fileName"},
		{name: "control character", change: map[string]any{"fileName": "a\u202Efdp.exe"}, status: 422, field: "fileName"},
		{name: "unknown field", change: map[string]any{"key": "orgs/other/x"}, status: 422, field: "key"},
		{name: "malformed JSON", raw: `{"fileName":`, status: 400},
	}
	paths := map[string]string{
		"new document": "/v1/matters/" + matterID + "/documents",
		"new version":  "/v1/documents/" + up.docID + "/versions",
	}
	for route, path := range paths {
		for _, tt := range tests {
			t.Run(route+"/"+tt.name, func(t *testing.T) {
				var body any = tt.raw
				if tt.raw == "" {
					b := valid()
					for k, v := range tt.change {
						b[k] = v
					}
					body = b
				}
				before := itemCount(t)
				r := a.do("POST", path, body)
				if r.Status != tt.status {
					t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Raw)
				}
				if tt.field != "" && !strings.Contains(r.Raw, `"field":"`+tt.field+`"`) {
					t.Errorf("no error for field %s: %s", tt.field, r.Raw)
				}
				if r.Header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("content type %q", r.Header.Get("Content-Type"))
				}
				if after := itemCount(t); after != before {
					t.Errorf("items %d → %d: a refused request wrote", before, after)
				}
			})
		}
	}
	// Ids that cannot exist, and matters that do not.
	before := itemCount(t)
	a.must(404, "POST", "/v1/matters/01JZZZZZZZZZZZZZZZZZZZZZZZ/documents", valid())
	a.must(404, "POST", "/v1/matters/not-an-id/documents", valid())
	a.must(404, "GET", "/v1/matters/01JZZZZZZZZZZZZZZZZZZZZZZZ/documents", nil)
	a.must(404, "GET", "/v1/documents/"+strings.Repeat("A", 2000), nil)
	a.must(404, "GET", "/v1/documents/01JZZZZZZZZZZZZZZZZZZZZZZZ/versions", nil)
	a.must(404, "DELETE", "/v1/documents/01JZZZZZZZZZZZZZZZZZZZZZZZ", nil)
	a.must(400, "GET", "/v1/matters/"+matterID+"/documents?cursor=forged", nil)
	a.must(422, "GET", "/v1/matters/"+matterID+"/documents?limit=0", nil)
	if after := itemCount(t); after != before {
		t.Errorf("items %d → %d after refused requests", before, after)
	}
}

// TestDocumentCallsPerRequest pins the DynamoDB calls of each route.
func TestDocumentCallsPerRequest(t *testing.T) {
	a := signup(t)
	_, matterID := clientAndMatter(a)
	pdf := samplePDF("calls")
	// count is the DynamoDB calls of the one request f sends.
	count := func(f func() result) map[string]int { return calls.Of(f()) }
	var up upload
	check := func(name string, got map[string]int, want string) {
		t.Helper()
		if fmt.Sprint(got) != want {
			t.Errorf("%s: DynamoDB calls %v, want %s", name, got, want)
		}
	}
	// Each count includes the router's read of the caller's member item.
	check("create", count(func() result {
		r := a.must(201, "POST", "/v1/matters/"+matterID+"/documents", map[string]any{"fileName": "c.pdf", "contentType": "application/pdf", "size": len(pdf)})
		up = uploadOf(t, r)
		return r
	}), "map[GetItem:2 TransactWriteItems:1]")
	up.send(t, pdf)
	check("complete", count(func() result { return a.must(200, "POST", "/v1/documents/"+up.docID+"/complete", nil) }), "map[GetItem:2 TransactWriteItems:1]")
	check("get", count(func() result { return a.must(200, "GET", "/v1/documents/"+up.docID, nil) }), "map[GetItem:2 TransactWriteItems:1]")
	check("list", count(func() result { return a.must(200, "GET", "/v1/matters/"+matterID+"/documents", nil) }), "map[GetItem:2 Query:1]")
	check("versions", count(func() result { return a.must(200, "GET", "/v1/documents/"+up.docID+"/versions", nil) }), "map[GetItem:1 Query:1]")
	check("new version", count(func() result {
		return a.must(201, "POST", "/v1/documents/"+up.docID+"/versions", map[string]any{"fileName": "d.pdf", "contentType": "application/pdf", "size": 10})
	}), "map[GetItem:2 TransactWriteItems:1]")
	check("delete", count(func() result { return a.must(204, "DELETE", "/v1/documents/"+up.docID, nil) }), "map[GetItem:2 Query:1 TransactWriteItems:1]")
}

// BenchmarkCreateDocumentUpload: declaring a document and getting its
// presigned upload URL (a matter read and one transaction).
func BenchmarkCreateDocumentUpload(b *testing.B) {
	a := signup(b)
	_, matterID := clientAndMatter(a)
	body := map[string]any{"fileName": "bench.pdf", "contentType": "application/pdf", "size": 4096}
	measure(b, func() int { return a.do("POST", "/v1/matters/"+matterID+"/documents", body).Status }, 201)
}
