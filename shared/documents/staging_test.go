package documents

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/localaws"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// otherPDF has pdf's length, so that a replayed PUT passes any size check.
var otherPDF = append([]byte("%PDF-1.7\n% replaced by a replayed upload URL"), bytes.Repeat([]byte("!"), len(pdf)-44)...)

// keysUnder lists the current objects under prefix.
func keysUnder(t *testing.T, c *s3.Client, prefix string) []string {
	t.Helper()
	out, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("docs"), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// current reads the current object at key, as a download without a pinned
// version (the dev stack's bucket keeps none) would.
func current(t *testing.T, c *s3.Client, key string) (body []byte, contentType string) {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("docs"), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	body, _ = io.ReadAll(out.Body)
	return body, aws.ToString(out.ContentType)
}

// start creates a pending document of pdf's size.
func (f *fixture) start(t *testing.T) (Document, UploadURL) {
	t.Helper()
	d, up, err := f.svc.Create(context.Background(), f.actor, f.matter, Declared{FileName: "a.pdf", ContentType: "application/pdf", Size: int64(len(pdf))})
	if err != nil {
		t.Fatal(err)
	}
	return d, up
}

// TestDocumentReplayedUploadURL: an upload URL used again after complete
// never replaces the version (the download and the object at the version's
// key keep the checked bytes and type), and used after the delete leaves
// nothing under the document's keys; in a bucket with versions or without.
func TestDocumentReplayedUploadURL(t *testing.T) {
	for _, versioned := range []bool{true, false} {
		name := "no versions"
		if versioned {
			name = "versioned"
		}
		t.Run(name+"/after complete", func(t *testing.T) {
			f := newFixtureOn(t, nil, versioned)
			ctx := context.Background()
			d, up := f.start(t)
			putFile(t, up, pdf)
			d, err := f.svc.Complete(ctx, f.actor, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			putFile(t, up, otherPDF) // S3 takes it: the URL is still valid
			putFile(t, UploadURL{Method: "PUT", URL: up.URL, Headers: map[string]string{"Content-Type": "text/html"}}, otherPDF)

			dl, err := f.svc.Download(ctx, f.actor, d, 0, false)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.Get(dl.URL)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Equal(got, pdf) || resp.Header.Get("Content-Type") != "application/pdf" {
				t.Errorf("download = %q as %q, want the checked bytes as application/pdf", got, resp.Header.Get("Content-Type"))
			}
			if body, ct := current(t, f.s3, d.ObjectKey); !bytes.Equal(body, pdf) || ct != "application/pdf" {
				t.Errorf("the version's object = %q as %q, want the checked bytes", body, ct)
			}
			// Another complete finds nothing pending; the replay stays staged.
			if _, err := f.svc.Complete(ctx, f.actor, d.ID); !fault.Is(err, fault.Conflict) {
				t.Errorf("complete again = %v", err)
			}
			if err := f.svc.Delete(ctx, f.actor, d.ID); err != nil {
				t.Fatal(err)
			}
			for _, prefix := range []string{objectPrefix(testOrg, testMatter, d.ID), StagingPrefix(testOrg, d.ID)} {
				if got := keysUnder(t, f.s3, prefix); len(got) != 0 {
					t.Errorf("left after the delete: %q", got)
				}
			}
		})
		t.Run(name+"/after delete", func(t *testing.T) {
			f := newFixtureOn(t, nil, versioned)
			ctx := context.Background()
			d, up := f.start(t)
			putFile(t, up, pdf)
			if _, err := f.svc.Complete(ctx, f.actor, d.ID); err != nil {
				t.Fatal(err)
			}
			if err := f.svc.Delete(ctx, f.actor, d.ID); err != nil {
				t.Fatal(err)
			}
			putFile(t, up, otherPDF)
			if got := keysUnder(t, f.s3, objectPrefix(testOrg, testMatter, d.ID)); len(got) != 0 {
				t.Errorf("the replay left an object under the document's keys: %q", got)
			}
			// It is staged, where nothing reads it and the lifecycle rule
			// of the staging/ prefix removes it.
			if got := keysUnder(t, f.s3, "staging/"); len(got) != 1 || got[0] != d.Pending.StagingKey {
				t.Errorf("staged = %q, want only %s", got, d.Pending.StagingKey)
			}
		})
	}
}

// TestDocumentStagedUpload: the upload URL writes to the upload's own
// staging key; complete copies the checked object to the version's key
// with the declared type and SSE-KMS, and deletes the staged one; a later
// version goes the same way and the first stays as it was.
func TestDocumentStagedUpload(t *testing.T) {
	for _, versioned := range []bool{true, false} {
		t.Run(map[bool]string{true: "versioned", false: "no versions"}[versioned], func(t *testing.T) {
			f := newFixtureOn(t, nil, versioned)
			ctx := context.Background()
			d, up := f.start(t)
			staging := StagingKey(testOrg, d.ID, 1, d.Pending.ID)
			if d.Pending.StagingKey != staging || !strings.HasPrefix(staging, "staging/"+testOrg+"/"+d.ID+"/1/") {
				t.Fatalf("staging key %q", d.Pending.StagingKey)
			}
			if u, _ := url.Parse(up.URL); u.Path != "/docs/"+staging {
				t.Errorf("upload URL path %q, want the staging key", u.Path)
			}
			putFile(t, up, pdf)
			if got := keysUnder(t, f.s3, objectPrefix(testOrg, testMatter, d.ID)); len(got) != 0 {
				t.Errorf("an upload reached the document's keys before complete: %q", got)
			}
			d, err := f.svc.Complete(ctx, f.actor, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := keysUnder(t, f.s3, "staging/"); len(got) != 0 {
				t.Errorf("staged objects left after complete: %q", got)
			}
			head, err := f.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("docs"), Key: aws.String(d.ObjectKey)})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(head.ContentType) != "application/pdf" || head.ServerSideEncryption != "aws:kms" || aws.ToInt64(head.ContentLength) != int64(len(pdf)) {
				t.Errorf("version 1's object: type %q, SSE %q, %d bytes", aws.ToString(head.ContentType), head.ServerSideEncryption, aws.ToInt64(head.ContentLength))
			}
			if versioned && (d.S3VersionID == "" || d.S3VersionID != aws.ToString(head.VersionId)) {
				t.Errorf("recorded S3 version %q, the copy is %q", d.S3VersionID, aws.ToString(head.VersionId))
			}

			v2 := append([]byte("%PDF-1.7\n% the second version"), pdf...)
			d, up2, err := f.svc.NewVersion(ctx, f.actor, d.ID, Declared{FileName: "b.pdf", ContentType: "application/pdf", Size: int64(len(v2))})
			if err != nil {
				t.Fatal(err)
			}
			putFile(t, up2, v2)
			if d, err = f.svc.Complete(ctx, f.actor, d.ID); err != nil {
				t.Fatal(err)
			}
			for n, want := range map[int][]byte{0: v2, 1: pdf, 2: v2} {
				dl, err := f.svc.Download(ctx, f.actor, d, n, false)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := http.Get(dl.URL)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !bytes.Equal(got, want) {
					t.Errorf("version %d downloads %q", n, got)
				}
			}
		})
	}
}

// TestDocumentDeleteRemovesStaged: a document deleted with an upload
// staged (never completed) leaves nothing staged; a complete without a
// staged object answers as before.
func TestDocumentDeleteRemovesStaged(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	d, up := f.start(t)
	if _, err := f.svc.Complete(ctx, f.actor, d.ID); err != errNoUpload {
		t.Errorf("complete before the PUT = %v, want %v", err, errNoUpload)
	}
	putFile(t, up, pdf)
	putFile(t, up, pdf) // twice: two S3 versions
	if err := f.svc.Delete(ctx, f.actor, d.ID); err != nil {
		t.Fatal(err)
	}
	if got := versionsUnder(t, f.s3, "staging/"); len(got) != 0 {
		t.Errorf("staged upload left after the delete: %q", got)
	}
}

// TestDocumentReplacedUploadStaysStaged: the object of a replaced upload
// is deleted, and its URL, used afterwards, cannot complete the
// replacement.
func TestDocumentReplacedUploadStaysStaged(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	d, first := f.start(t)
	putFile(t, first, pdf)
	d, second, err := f.svc.NewVersion(ctx, f.actor, d.ID, Declared{FileName: "a.pdf", ContentType: "application/pdf", Size: int64(len(pdf))})
	if err != nil {
		t.Fatal(err)
	}
	if got := keysUnder(t, f.s3, "staging/"); len(got) != 0 {
		t.Errorf("the replaced upload's object stayed: %q", got)
	}
	putFile(t, first, pdf)
	if _, err := f.svc.Complete(ctx, f.actor, d.ID); err != errNoUpload {
		t.Errorf("complete with only the replaced upload's object = %v", err)
	}
	putFile(t, second, pdf)
	if _, err := f.svc.Complete(ctx, f.actor, d.ID); err != nil {
		t.Errorf("complete = %v", err)
	}
}

// TestDocumentUploadBeforeStaging: an upload started before staging (its
// item has no staging key; its URL wrote to the version's key) still
// completes, in place.
func TestDocumentUploadBeforeStaging(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	d, _ := f.start(t)
	_, err := f.svc.DB.API.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(f.svc.DB.Table),
		Key: store.Key(tenant.PK(testOrg), docSK(d.ID)), UpdateExpression: aws.String("REMOVE pending.stagingKey")})
	if err != nil {
		t.Fatal(err)
	}
	key := ObjectKey(testOrg, testMatter, d.ID, 1)
	if _, err := f.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("docs"), Key: aws.String(key), Body: bytes.NewReader(pdf),
		ContentType: aws.String("application/pdf"), ServerSideEncryption: "aws:kms"}); err != nil {
		t.Fatal(err)
	}
	d, err = f.svc.Complete(ctx, f.actor, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := current(t, f.s3, key); d.ObjectKey != key || !bytes.Equal(body, pdf) {
		t.Errorf("completed at %s: %q", d.ObjectKey, body)
	}
}

// TestDocumentPromoteWire pins the CopyObject complete sends (checked
// against S3's wire format: the stand-in honours neither the version nor
// the ETag condition of a copy source) and how its answers are read.
func TestDocumentPromoteWire(t *testing.T) {
	const kmsARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	staged := StagingKey(testOrg, testDoc, 2, "01JGGGGGGGGGGGGGGGGGGGGGGG")
	key := ObjectKey(testOrg, testMatter, testDoc, 2)
	for _, tt := range []struct {
		name   string
		status int
		body   string
		want   error // nil: success, version "copy-version"
	}{
		{"copied", 200, `<CopyObjectResult><ETag>"e"</ETag></CopyObjectResult>`, nil},
		{"staged object changed", 412, `<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>`, errStagedChanged},
		{"staged object gone", 404, `<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>`, errNoUpload},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got *http.Request
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r
				w.Header().Set("Content-Type", "application/xml")
				if tt.status == 200 {
					w.Header().Set("x-amz-version-id", "copy-version")
					w.Header().Set("x-amz-copy-source-version-id", "staged-version")
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			st := NewStorage(localaws.NewS3Client(srv.URL), "docs", kmsARN)
			version, err := st.Promote(context.Background(), staged, Object{VersionID: "staged-version", ETag: `"abc"`}, key, "application/pdf")
			if err != tt.want && !(tt.want == nil && err == nil) {
				t.Fatalf("Promote = %q, %v; want %v", version, err, tt.want)
			}
			if tt.want == nil && version != "copy-version" {
				t.Errorf("version %q, want the copy's", version)
			}
			if got.Method != "PUT" || got.URL.Path != "/docs/"+key {
				t.Errorf("request %s %s", got.Method, got.URL.Path)
			}
			for h, want := range map[string]string{
				"X-Amz-Copy-Source":                           "docs/" + staged + "?versionId=staged-version",
				"X-Amz-Copy-Source-If-Match":                  `"abc"`,
				"X-Amz-Metadata-Directive":                    "REPLACE",
				"Content-Type":                                "application/pdf",
				"X-Amz-Server-Side-Encryption":                "aws:kms",
				"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": kmsARN,
			} {
				if v := got.Header.Get(h); v != want {
					t.Errorf("%s = %q, want %q", h, v, want)
				}
			}
		})
	}
}
