package documents

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/matterly/matterly/shared/bus"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/localaws"
	"github.com/matterly/matterly/shared/relay"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// flakyS3 fails every call while down is set, like an S3 outage.
type flakyS3 struct {
	ObjectAPI
	down atomic.Bool
}

func (f *flakyS3) err() error {
	if f.down.Load() {
		return errors.New("dial tcp: connection refused")
	}
	return nil
}

func (f *flakyS3) HeadObject(ctx context.Context, in *s3.HeadObjectInput, o ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.ObjectAPI.HeadObject(ctx, in, o...)
}

func (f *flakyS3) ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, o ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.ObjectAPI.ListObjectVersions(ctx, in, o...)
}

type fixture struct {
	svc    *Service
	s3     *s3.Client
	flaky  *flakyS3
	actor  caller.Caller
	matter string
	events atomic.Int32
	logs   *bytes.Buffer
}

// newFixture is the service against the embedded DynamoDB and a versioned
// in-memory S3 (as in AWS), with an org, an owner and a matter.
func newFixture(t *testing.T, publish bus.PublisherFunc) *fixture {
	t.Helper()
	return newFixtureOn(t, publish, true)
}

// newFixtureOn is newFixture with a bucket that keeps versions or not (as
// the dev stack's).
func newFixtureOn(t *testing.T, publish bus.PublisherFunc, versioned bool) *fixture {
	t.Helper()
	dyn, err := localaws.StartDynamo("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dyn.Close() })
	db := store.New(dyn.Client(), dyn.TableName())
	st, client := memS3(t, versioned)
	f := &fixture{s3: client, flaky: &flakyS3{ObjectAPI: st.API}, logs: &bytes.Buffer{},
		actor: caller.Caller{OrgID: testOrg, UserID: "01JEEEEEEEEEEEEEEEEEEEEEEE", Role: "owner", IP: "192.0.2.1"}, matter: testMatter}
	st.API = f.flaky
	if publish == nil {
		publish = func(context.Context, string, any) error { f.events.Add(1); return nil }
	}
	log := slog.New(slog.NewJSONHandler(f.logs, nil))
	// Events go out as in AWS: from the table's stream, through the relay.
	dyn.SetStream(relay.Handler{Bus: publish, Log: log}.Handle, log)
	f.svc = NewService(db, st, log, time.Now)
	ctx := context.Background()
	member := map[string]string{"PK": tenant.PK(testOrg), "SK": tenant.MemberSK(f.actor.UserID), "role": "owner"}
	matter := map[string]any{"PK": tenant.PK(testOrg), "SK": crm.MatterSK(testMatter), "id": testMatter, "clientId": "01JFFFFFFFFFFFFFFFFFFFFFFF",
		"title": "T", "status": "open", crm.AttrDocumentCount: 0}
	for _, item := range []any{member, matter} {
		if err := db.PutItem(ctx, item, nil); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// putFile sends data to a presigned upload as a client would.
func putFile(t *testing.T, up UploadURL, data []byte) {
	t.Helper()
	req, _ := http.NewRequest(up.Method, up.URL, bytes.NewReader(data))
	for k, v := range up.Headers {
		if k != "Content-Length" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT = %d", resp.StatusCode)
	}
}

func get(t *testing.T, rawURL string) []byte {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

var pdf = []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

func (f *fixture) ready(t *testing.T) Document {
	t.Helper()
	ctx := context.Background()
	d, up, err := f.svc.Create(ctx, f.actor, f.matter, Declared{FileName: "Privileged memo.pdf", ContentType: "application/pdf", Size: int64(len(pdf))})
	if err != nil {
		t.Fatal(err)
	}
	putFile(t, up, pdf)
	if d, err = f.svc.Complete(ctx, f.actor, d.ID); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDocumentVersionPinned: in a versioned bucket, a download fetches the
// S3 version that was checked at complete, even when the still-valid upload
// URL is used again afterwards to replace the object.
func TestDocumentVersionPinned(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	d := f.ready(t)
	if d.S3VersionID == "" {
		t.Fatal("no S3 version id recorded")
	}
	if _, err := f.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("docs"), Key: aws.String(d.ObjectKey),
		Body: bytes.NewReader([]byte("%PDF-1.7 something else entirely")), ContentType: aws.String("application/pdf")}); err != nil {
		t.Fatal(err)
	}
	dl, err := f.svc.Download(ctx, f.actor, d, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := get(t, dl.URL); !bytes.Equal(got, pdf) {
		t.Errorf("download = %q, want the checked bytes", got)
	}
	if f.events.Load() != 1 {
		t.Errorf("%d events published, want 1 (document.ready)", f.events.Load())
	}

	// Delete leaves no version of anything, the re-sent object included.
	if err := f.svc.Delete(ctx, f.actor, d.ID); err != nil {
		t.Fatal(err)
	}
	if got := versionsUnder(t, f.s3, objectPrefix(testOrg, testMatter, d.ID)); len(got) != 0 {
		t.Errorf("left in the bucket: %q", got)
	}
	if _, err := f.svc.Get(ctx, testOrg, d.ID); !fault.Is(err, fault.NotFound) {
		t.Errorf("Get after delete: %v", err)
	}
	if strings.Contains(f.logs.String(), "Privileged") {
		t.Errorf("a file name reached the log: %s", f.logs)
	}
}

// TestDocumentS3Down: an S3 outage answers 503 and changes nothing: the
// upload stays pending, and a delete keeps the document (objects go first).
func TestDocumentS3Down(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	d, up, err := f.svc.Create(ctx, f.actor, f.matter, Declared{FileName: "a.pdf", ContentType: "application/pdf", Size: int64(len(pdf))})
	if err != nil {
		t.Fatal(err)
	}
	putFile(t, up, pdf)
	f.flaky.down.Store(true)
	_, err = f.svc.Complete(ctx, f.actor, d.ID)
	if fe := fault.As(err); fe == nil || fe.Kind != fault.Unavailable || fe.RetryAfter == 0 {
		t.Fatalf("Complete with S3 down = %v", err)
	}
	if got, _ := f.svc.Get(ctx, testOrg, d.ID); got.Status != StatusPending || got.Pending == nil {
		t.Errorf("after a failed complete: %+v", got)
	}
	f.flaky.down.Store(false)
	if _, err := f.svc.Complete(ctx, f.actor, d.ID); err != nil {
		t.Fatal(err)
	}
	f.flaky.down.Store(true)
	if err := f.svc.Delete(ctx, f.actor, d.ID); !fault.Is(err, fault.Unavailable) {
		t.Fatalf("Delete with S3 down = %v", err)
	}
	if _, err := f.svc.Get(ctx, testOrg, d.ID); err != nil {
		t.Errorf("the document went although its objects stayed: %v", err)
	}
	f.flaky.down.Store(false)
	if err := f.svc.Delete(ctx, f.actor, d.ID); err != nil {
		t.Errorf("retried delete: %v", err)
	}
}

// TestDocumentPublishFailure: a failed event publish is logged (and the
// stream sends it again); the completed upload stands.
func TestDocumentPublishFailure(t *testing.T) {
	f := newFixture(t, func(context.Context, string, any) error { return errors.New("eventbridge down") })
	d := f.ready(t)
	if d.Status != StatusReady {
		t.Errorf("status %q", d.Status)
	}
	if !strings.Contains(f.logs.String(), "event not published") {
		t.Errorf("no log of the failed publish: %s", f.logs)
	}
}

// TestDocumentRefusedTypeDeleted: a file that is not what it was declared
// as is refused and its object deleted, every S3 version of it.
func TestDocumentRefusedTypeDeleted(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	notPDF := []byte("MZ\x90\x00 an executable, renamed")
	d, up, err := f.svc.Create(ctx, f.actor, f.matter, Declared{FileName: "a.pdf", ContentType: "application/pdf", Size: int64(len(notPDF))})
	if err != nil {
		t.Fatal(err)
	}
	putFile(t, up, notPDF)
	_, err = f.svc.Complete(ctx, f.actor, d.ID)
	if fe := fault.As(err); fe == nil || fe.Kind != fault.Invalid || fe.Message != "The file is not a PDF." {
		t.Fatalf("Complete = %v", err)
	}
	for _, prefix := range []string{StagingPrefix(testOrg, d.ID), objectPrefix(testOrg, testMatter, d.ID)} {
		if got := versionsUnder(t, f.s3, prefix); len(got) != 0 {
			t.Errorf("the refused file left %q", got)
		}
	}
}

func TestDocumentRouterNeedsBucket(t *testing.T) {
	client := s3.New(s3.Options{Region: "us-east-1"})
	for name, st := range map[string]*Storage{
		"without an S3 client":  StorageFor(nil, "b", ""),
		"without a bucket name": StorageFor(client, "", ""),
		"with an empty bucket":  {API: client},
	} {
		if _, err := NewRouter(NewService(nil, st, nil, time.Now), httpapi.RouterConfig{}); !errors.Is(err, errNoBucket) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
