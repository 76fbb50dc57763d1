package documents

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/localaws"
)

const (
	testOrg    = "01JAAAAAAAAAAAAAAAAAAAAAAA"
	testMatter = "01JBBBBBBBBBBBBBBBBBBBBBBB"
	testDoc    = "01JCCCCCCCCCCCCCCCCCCCCCCC"
)

func TestDocumentKeys(t *testing.T) {
	if got, want := ObjectKey(testOrg, testMatter, testDoc, 3),
		"orgs/"+testOrg+"/matters/"+testMatter+"/documents/"+testDoc+"/v3"; got != want {
		t.Errorf("ObjectKey = %q, want %q", got, want)
	}
	if got := versionSK(testDoc, 7); got != "DOC#"+testDoc+"#V#0007" {
		t.Errorf("versionSK = %q", got)
	}
	// Zero padding: version sort keys sort as numbers, all under the prefix
	// of the document's versions and after the document itself.
	sks := []string{versionSK(testDoc, 10), versionSK(testDoc, 2), docSK(testDoc), versionSK(testDoc, MaxVersions), versionSK(testDoc, 1)}
	slices.Sort(sks)
	want := []string{docSK(testDoc), versionSK(testDoc, 1), versionSK(testDoc, 2), versionSK(testDoc, 10), versionSK(testDoc, MaxVersions)}
	if !slices.Equal(sks, want) {
		t.Errorf("sorted = %q, want %q", sks, want)
	}
	for _, sk := range want[1:] {
		if !strings.HasPrefix(sk, versionsPrefix(testDoc)) {
			t.Errorf("%q lacks the versions prefix", sk)
		}
	}
	if strings.HasPrefix(docSK(testDoc), versionsPrefix(testDoc)) {
		t.Error("the document item falls under its versions prefix")
	}
	if got := matterDocsPK(testOrg, testMatter); got != "ORG#"+testOrg+"#MATTER#"+testMatter+"#DOCS" {
		t.Errorf("matterDocsPK = %q", got)
	}
	d := toDocumentRow(testOrg, Document{ID: testDoc, MatterID: testMatter})
	if d.PK != "ORG#"+testOrg || d.SK != "DOC#"+testDoc || d.GSI1PK != matterDocsPK(testOrg, testMatter) || d.GSI1SK != testDoc || d.Type != "document" {
		t.Errorf("document keys = %+v", d.Keys)
	}
	v := toVersionRow(testOrg, Version{DocumentID: testDoc, Version: 7})
	if v.PK != "ORG#"+testOrg || v.SK != versionSK(testDoc, 7) || v.GSI1PK != "" || v.Type != "documentVersion" {
		t.Errorf("version keys = %+v", v.Keys)
	}
}

// TestDocumentPresignUpload pins what the SDK's presigner signs: the client must
// send exactly the listed headers, and nothing else (no checksum) may be
// required, or uploads from browsers would fail.
func TestDocumentPresignUpload(t *testing.T) {
	const kmsARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	for _, tt := range []struct {
		name, kms string
		want      map[string]string
	}{
		{"local, no key", "", map[string]string{"Content-Length": "1234", "Content-Type": "application/pdf",
			"X-Amz-Server-Side-Encryption": "aws:kms"}},
		{"with key", kmsARN, map[string]string{"Content-Length": "1234", "Content-Type": "application/pdf",
			"X-Amz-Server-Side-Encryption": "aws:kms", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": kmsARN}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := NewStorage(localaws.NewS3Client("http://127.0.0.1:1"), "bucket", tt.kms)
			key := ObjectKey(testOrg, testMatter, testDoc, 1)
			before := time.Now()
			up, err := st.PresignUpload(context.Background(), key, "application/pdf", 1234)
			if err != nil {
				t.Fatal(err)
			}
			if up.Method != "PUT" {
				t.Errorf("method %q", up.Method)
			}
			if !mapsEqual(up.Headers, tt.want) {
				t.Errorf("headers = %v, want %v", up.Headers, tt.want)
			}
			u, err := url.Parse(up.URL)
			if err != nil {
				t.Fatal(err)
			}
			if u.Path != "/bucket/"+key {
				t.Errorf("path %q", u.Path)
			}
			q := u.Query()
			signed := strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
			wantSigned := []string{"host"}
			for h := range tt.want {
				wantSigned = append(wantSigned, strings.ToLower(h))
			}
			slices.Sort(wantSigned)
			if !slices.Equal(signed, wantSigned) {
				t.Errorf("signed headers %q, want %q", signed, wantSigned)
			}
			if q.Get("X-Amz-Expires") != "900" {
				t.Errorf("X-Amz-Expires = %q", q.Get("X-Amz-Expires"))
			}
			for k := range q {
				if lk := strings.ToLower(k); strings.Contains(lk, "checksum") || lk == "x-amz-sdk-checksum-algorithm" {
					t.Errorf("URL carries %s: uploads would need a checksum", k)
				}
			}
			if d := up.ExpiresAt.Sub(before); d < UploadURLTTL-2*time.Second || d > UploadURLTTL+2*time.Second {
				t.Errorf("expiresAt %v is %v from now", up.ExpiresAt, d)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestDocumentPresignDownload(t *testing.T) {
	st := NewStorage(localaws.NewS3Client("http://127.0.0.1:1"), "bucket", "")
	raw, exp, err := st.PresignDownload(context.Background(), "orgs/o/k", "ver-1", "application/pdf", `inline; filename="a.pdf"`)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	q := u.Query()
	for k, want := range map[string]string{"X-Amz-Expires": "300", "versionId": "ver-1", "response-content-type": "application/pdf",
		"response-content-disposition": `inline; filename="a.pdf"`, "response-cache-control": "private, no-store", "X-Amz-SignedHeaders": "host"} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	if d := time.Until(exp); d < DownloadURLTTL-5*time.Second || d > DownloadURLTTL+time.Second {
		t.Errorf("expires in %v", d)
	}
}

// versionedS3 is an in-memory S3 with versioning on, like the bucket in AWS
// (the dev stack's bolt backend keeps no versions).
func versionedS3(t *testing.T) (*Storage, *s3.Client) { return memS3(t, true) }

// memS3 is an S3 bucket "docs": in memory with versioning on, or without
// versions in a bolt file, as in the dev stack.
func memS3(t *testing.T, versioned bool) (*Storage, *s3.Client) {
	t.Helper()
	if !versioned {
		srv, err := localaws.StartS3(filepath.Join(t.TempDir(), "s3.db"), localaws.WithBucket("docs"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		return NewStorage(srv.Client(), "docs", ""), srv.Client()
	}
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	c := localaws.NewS3Client(srv.URL)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("docs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("docs"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	return NewStorage(c, "docs", ""), c
}

func put(t *testing.T, c *s3.Client, key, body string) string {
	t.Helper()
	out, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("docs"), Key: aws.String(key),
		Body: bytes.NewReader([]byte(body)), ContentType: aws.String("text/plain"), ServerSideEncryption: types.ServerSideEncryptionAwsKms})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.VersionId)
}

func versionsUnder(t *testing.T, c *s3.Client, prefix string) []string {
	t.Helper()
	out, err := c.ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String("docs"), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range out.Versions {
		got = append(got, aws.ToString(v.Key)+"@"+aws.ToString(v.VersionId))
	}
	for _, m := range out.DeleteMarkers {
		got = append(got, aws.ToString(m.Key)+"@marker")
	}
	return got
}

// TestDocumentRemoveAllVersioned: deleting a document leaves no version of any of
// its objects: not the recorded ones, not a file PUT again to a used URL,
// not a pending upload, not a delete marker. Other documents keep theirs.
func TestDocumentRemoveAllVersioned(t *testing.T) {
	st, c := versionedS3(t)
	ctx := context.Background()
	prefix := objectPrefix(testOrg, testMatter, testDoc)
	v1 := ObjectKey(testOrg, testMatter, testDoc, 1)
	recorded := put(t, c, v1, "first")
	put(t, c, v1, "sent again to the same URL")
	put(t, c, ObjectKey(testOrg, testMatter, testDoc, 2), "pending upload")
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("docs"), Key: aws.String(ObjectKey(testOrg, testMatter, testDoc, 3))}); err != nil {
		t.Fatal(err)
	}
	other := objectPrefix(testOrg, testMatter, "01JDDDDDDDDDDDDDDDDDDDDDDD")
	put(t, c, other+"v1", "another document")
	if n := len(versionsUnder(t, c, prefix)); n < 3 {
		t.Fatalf("setup: %d versions", n)
	}
	known := []ObjectRef{{Key: v1, VersionID: recorded}, {Key: ObjectKey(testOrg, testMatter, testDoc, 2)}}
	for range 2 { // a retried delete succeeds too
		if err := st.RemoveAll(ctx, prefix, known); err != nil {
			t.Fatal(err)
		}
		if got := versionsUnder(t, c, prefix); len(got) != 0 {
			t.Errorf("left behind: %q", got)
		}
	}
	if got := versionsUnder(t, c, other); len(got) != 1 {
		t.Errorf("another document's objects = %q", got)
	}
}

// TestDocumentRemoveKeyExact: replacing the pending upload of version 2 deletes
// every version of v2 and nothing of v20.
func TestDocumentRemoveKeyExact(t *testing.T) {
	st, c := versionedS3(t)
	v2, v20 := ObjectKey(testOrg, testMatter, testDoc, 2), ObjectKey(testOrg, testMatter, testDoc, 20)
	put(t, c, v2, "a")
	put(t, c, v2, "b")
	put(t, c, v20, "c")
	if err := st.RemoveKey(context.Background(), v2); err != nil {
		t.Fatal(err)
	}
	got := versionsUnder(t, c, objectPrefix(testOrg, testMatter, testDoc))
	if len(got) != 1 || !strings.HasPrefix(got[0], v20+"@") {
		t.Errorf("after RemoveKey(v2): %q", got)
	}
}

// TestDocumentHeadAndReadHead: the checks of a completed upload read the object's
// metadata and first bytes of the exact version that was checked.
func TestDocumentHeadAndReadHead(t *testing.T) {
	st, c := versionedS3(t)
	ctx := context.Background()
	key := ObjectKey(testOrg, testMatter, testDoc, 1)
	if _, found, err := st.Head(ctx, key); err != nil || found {
		t.Fatalf("Head of a missing object = %v, %v", found, err)
	}
	if _, found, err := st.ReadHead(ctx, key, ""); err != nil || found {
		t.Fatalf("ReadHead of a missing object = %v, %v", found, err)
	}
	body := strings.Repeat("x", 600)
	first := put(t, c, key, body)
	put(t, c, key, "replaced")
	obj, found, err := st.Head(ctx, key)
	if err != nil || !found || obj.Size != int64(len("replaced")) || obj.SSE != sseKMS || obj.ContentType != "text/plain" || obj.VersionID == "" {
		t.Fatalf("Head = %+v, %v, %v", obj, found, err)
	}
	head, found, err := st.ReadHead(ctx, key, first)
	if err != nil || !found || string(head) != body[:sniffBytes] {
		t.Errorf("ReadHead(first version) = %d bytes, %v, %v", len(head), found, err)
	}
	if err := st.Remove(ctx, key, obj.VersionID); err != nil {
		t.Fatal(err)
	}
	if err := st.Remove(ctx, key, obj.VersionID); err != nil {
		t.Errorf("removing a removed version: %v", err)
	}
}

type failingS3 struct{ ObjectAPI }

var errDown = errors.New("connection refused")

func (failingS3) HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	return nil, errDown
}

func (failingS3) ListObjectVersions(context.Context, *s3.ListObjectVersionsInput, ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	return nil, errDown
}

// TestDocumentS3DownIsUnavailable: an S3 failure answers 503 with Retry-After and
// keeps its cause for the log.
func TestDocumentS3DownIsUnavailable(t *testing.T) {
	st := &Storage{API: failingS3{}, Bucket: "b"}
	_, _, err := st.Head(context.Background(), "k")
	fe := fault.As(err)
	if fe == nil || fe.Kind != fault.Unavailable || fe.RetryAfter == 0 || !errors.Is(err, errDown) {
		t.Errorf("Head error = %#v", err)
	}
	if err := st.RemoveAll(context.Background(), "p/", nil); !fault.Is(err, fault.Unavailable) {
		t.Errorf("RemoveAll error = %v", err)
	}
}

func TestDocumentIsNotFound(t *testing.T) {
	if isNotFound(nil) || isNotFound(errDown) {
		t.Error("not-found for a nil or other error")
	}
	if !isNotFound(&types.NotFound{}) || !isNotFound(&types.NoSuchKey{}) {
		t.Error("S3's not-found errors not recognised")
	}
}
