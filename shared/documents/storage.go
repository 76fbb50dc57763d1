package documents

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/matterly/matterly/shared/fault"
)

// How long presigned URLs work. An upload URL must outlive a slow upload of
// the largest file; a download URL is for a click, so it is short.
const (
	UploadURLTTL   = 15 * time.Minute
	DownloadURLTTL = 5 * time.Minute
)

// sniffBytes is how much of an uploaded object is read to check its type.
const sniffBytes = 512

// ObjectAPI is the part of the S3 client the documents capability uses.
type ObjectAPI interface {
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	CopyObject(context.Context, *s3.CopyObjectInput, ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
	DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	DeleteObjects(context.Context, *s3.DeleteObjectsInput, ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
	ListObjectVersions(context.Context, *s3.ListObjectVersionsInput, ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// PresignAPI is the part of the S3 presign client the capability uses.
type PresignAPI interface {
	PresignPutObject(context.Context, *s3.PutObjectInput, ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
	PresignGetObject(context.Context, *s3.GetObjectInput, ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
}

// Storage is the documents bucket.
type Storage struct {
	API     ObjectAPI
	Presign PresignAPI
	Bucket  string
	// KMSKeyID is the key ARN uploads must be encrypted with; empty locally,
	// where uploads only have to ask for SSE-KMS.
	KMSKeyID string
}

// NewStorage returns the storage of bucket through client.
func NewStorage(client *s3.Client, bucket, kmsKeyID string) *Storage {
	return &Storage{API: client, Presign: s3.NewPresignClient(client), Bucket: bucket, KMSKeyID: kmsKeyID}
}

// StorageFor is NewStorage for a function's configuration: nil when it has
// no S3 client or no bucket, so services that only sometimes read documents
// (summaries, drafts) know they cannot, and the documents router refuses
// to start.
func StorageFor(client *s3.Client, bucket, kmsKeyID string) *Storage {
	if client == nil || bucket == "" {
		return nil
	}
	return NewStorage(client, bucket, kmsKeyID)
}

// UploadURL is a presigned PUT: the client sends the file's bytes to URL
// with exactly Headers, before ExpiresAt.
type UploadURL struct {
	URL       string            `json:"url"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expiresAt"`
}

// PresignUpload signs a PUT of exactly size bytes of contentType to key,
// encrypted with SSE-KMS (under our key when one is configured; the bucket
// policy refuses other puts). The content length is signed, so S3 refuses a
// body of another size. No checksum is signed: the presign client computes
// checksums only when an operation requires one, and PutObject does not.
func (s *Storage) PresignUpload(ctx context.Context, key, contentType string, size int64) (UploadURL, error) {
	in := &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket), Key: aws.String(key),
		ContentType: aws.String(contentType), ContentLength: aws.Int64(size),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms,
	}
	if s.KMSKeyID != "" {
		in.SSEKMSKeyId = aws.String(s.KMSKeyID)
	}
	req, err := s.Presign.PresignPutObject(ctx, in, s3.WithPresignExpires(UploadURLTTL))
	if err != nil {
		return UploadURL{}, unavailable("presign put", err)
	}
	headers := map[string]string{}
	for name, values := range req.SignedHeader {
		if http.CanonicalHeaderKey(name) == "Host" || len(values) == 0 {
			continue // the client's HTTP stack sends Host from the URL
		}
		headers[http.CanonicalHeaderKey(name)] = values[0]
	}
	return UploadURL{URL: req.URL, Method: req.Method, Headers: headers, ExpiresAt: expiresAt(req.URL, UploadURLTTL)}, nil
}

// PresignDownload signs a GET of one object version that S3 answers with
// the given Content-Type and Content-Disposition, and tells browsers and
// proxies not to keep a copy.
func (s *Storage) PresignDownload(ctx context.Context, key, versionID, contentType, disposition string) (string, time.Time, error) {
	in := &s3.GetObjectInput{
		Bucket: aws.String(s.Bucket), Key: aws.String(key),
		ResponseContentType: aws.String(contentType), ResponseContentDisposition: aws.String(disposition),
		ResponseCacheControl: aws.String("private, no-store"),
	}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	req, err := s.Presign.PresignGetObject(ctx, in, s3.WithPresignExpires(DownloadURLTTL))
	if err != nil {
		return "", time.Time{}, unavailable("presign get", err)
	}
	return req.URL, expiresAt(req.URL, DownloadURLTTL), nil
}

// expiresAt reads when a presigned URL expires from its X-Amz-Date (the
// signer's clock), falling back to now + ttl.
func expiresAt(rawURL string, ttl time.Duration) time.Time {
	if u, err := url.Parse(rawURL); err == nil {
		if t, err := time.Parse("20060102T150405Z", u.Query().Get("X-Amz-Date")); err == nil {
			if secs, err := strconv.Atoi(u.Query().Get("X-Amz-Expires")); err == nil {
				return t.Add(time.Duration(secs) * time.Second).UTC()
			}
		}
	}
	return time.Now().Add(ttl).UTC().Truncate(time.Second)
}

// sseKMS is the x-amz-server-side-encryption value of SSE-KMS.
const sseKMS = string(types.ServerSideEncryptionAwsKms)

// Object is what S3 says about a stored object.
type Object struct {
	Size        int64
	ContentType string
	SSE         string // x-amz-server-side-encryption
	KMSKeyID    string
	VersionID   string // empty when the bucket keeps no versions
	ETag        string
}

// Head describes the object at key; found is false when there is none.
func (s *Storage) Head(ctx context.Context, key string) (obj Object, found bool, err error) {
	out, err := s.API.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if isNotFound(err) {
		return Object{}, false, nil
	}
	if err != nil {
		return Object{}, false, unavailable("head object", err)
	}
	return Object{Size: aws.ToInt64(out.ContentLength), ContentType: aws.ToString(out.ContentType),
		SSE: string(out.ServerSideEncryption), KMSKeyID: aws.ToString(out.SSEKMSKeyId), VersionID: aws.ToString(out.VersionId),
		ETag: aws.ToString(out.ETag)}, true, nil
}

// ReadHead returns the first bytes (at most sniffBytes) of one version of
// the object at key; found is false when it is gone.
func (s *Storage) ReadHead(ctx context.Context, key, versionID string) (head []byte, found bool, err error) {
	out, found, err := s.get(ctx, key, versionID, fmt.Sprintf("bytes=0-%d", sniffBytes-1))
	if !found || err != nil {
		return nil, found, err
	}
	defer out.Body.Close()
	head, err = io.ReadAll(io.LimitReader(out.Body, sniffBytes))
	if err != nil {
		return nil, false, unavailable("read object", err)
	}
	return head, true, nil
}

// get opens one version of the object at key (the current one when
// versionID is empty), a byte range of it when rng is set.
func (s *Storage) get(ctx context.Context, key, versionID, rng string) (*s3.GetObjectOutput, bool, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	if rng != "" {
		in.Range = aws.String(rng)
	}
	out, err := s.API.GetObject(ctx, in)
	if isNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, unavailable("get object", err)
	}
	return out, true, nil
}

// Put writes an object Matterly made itself (an AI draft), encrypted
// with SSE-KMS like every upload, and returns its S3 version id.
func (s *Storage) Put(ctx context.Context, key, contentType string, body []byte) (string, error) {
	in := &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String(contentType), ContentLength: aws.Int64(int64(len(body))),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms,
	}
	if s.KMSKeyID != "" {
		in.SSEKMSKeyId = aws.String(s.KMSKeyID)
	}
	out, err := s.API.PutObject(ctx, in)
	if err != nil {
		return "", unavailable("put object", err)
	}
	return aws.ToString(out.VersionId), nil
}

// errStagedChanged is a staged upload that was written again between its
// checks and its copy.
var errStagedChanged = fault.E(fault.Conflict, "The upload changed while it was being checked; complete it again.")

// Promote copies a checked staged object to key, server-side, and returns
// the S3 version id of the copy. It copies exactly what was checked: the
// version obj (in a versioned bucket) and only while its ETag is obj's (so
// a PUT to the staged key after the checks fails the copy with a 409, in
// any bucket). The copy gets the declared type and our SSE-KMS encryption,
// not whatever the uploader sent. One CopyObject takes up to 5 GB, far
// above filetype.MaxSize.
func (s *Storage) Promote(ctx context.Context, staged string, obj Object, key, contentType string) (string, error) {
	src := s.Bucket + "/" + staged
	if obj.VersionID != "" {
		src += "?versionId=" + url.QueryEscape(obj.VersionID)
	}
	in := &s3.CopyObjectInput{
		Bucket: aws.String(s.Bucket), Key: aws.String(key), CopySource: aws.String(src),
		MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String(contentType),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms,
	}
	if obj.ETag != "" {
		in.CopySourceIfMatch = aws.String(obj.ETag)
	}
	if s.KMSKeyID != "" {
		in.SSEKMSKeyId = aws.String(s.KMSKeyID)
	}
	out, err := s.API.CopyObject(ctx, in)
	var apiErr smithy.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.ErrorCode() == "PreconditionFailed":
		return "", errStagedChanged
	case isNotFound(err):
		return "", errNoUpload // deleted (a replaced upload's) since the checks
	case err != nil:
		return "", unavailable("copy object", err)
	}
	version := aws.ToString(out.VersionId)
	if version != "" && version == obj.VersionID {
		// S3 gives every version an id of its own; the local stand-in
		// answers the source's. The copy is then the key's current version
		// (only complete writes a version's key).
		dst, found, err := s.Head(ctx, key)
		if err != nil {
			return "", err
		}
		if !found {
			return "", unavailable("copy object", fmt.Errorf("the copy to %s is missing", key))
		}
		version = dst.VersionID
	}
	return version, nil
}

// Read returns one version of the object at key, refusing one larger than
// limit bytes (a 413). found is false when it is gone.
func (s *Storage) Read(ctx context.Context, key, versionID string, limit int64) (body []byte, found bool, err error) {
	out, found, err := s.get(ctx, key, versionID, "")
	if !found || err != nil {
		return nil, found, err
	}
	defer out.Body.Close()
	if aws.ToInt64(out.ContentLength) > limit {
		return nil, true, fault.E(fault.TooLarge, "The document is larger than %d MB.", limit>>20)
	}
	body, err = io.ReadAll(io.LimitReader(out.Body, limit+1))
	if err != nil {
		return nil, false, unavailable("read object", err)
	}
	if int64(len(body)) > limit {
		return nil, true, fault.E(fault.TooLarge, "The document is larger than %d MB.", limit>>20)
	}
	return body, true, nil
}

// Remove deletes one version of the object at key (the current one when
// versionID is empty); a missing object is fine.
func (s *Storage) Remove(ctx context.Context, key, versionID string) error {
	in := &s3.DeleteObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	if _, err := s.API.DeleteObject(ctx, in); err != nil && !isNotFound(err) {
		return unavailable("delete object", err)
	}
	return nil
}

// RemoveKey deletes every version of the object at exactly key (a
// replaced upload's, which was never checked); a missing object is fine.
func (s *Storage) RemoveKey(ctx context.Context, key string) error {
	listed, versioned, err := s.listVersions(ctx, key)
	if err != nil {
		return err
	}
	if !versioned {
		return s.Remove(ctx, key, "")
	}
	var refs []ObjectRef
	for _, r := range listed {
		if r.Key == key { // the listing is by prefix: v2 also lists v20
			refs = append(refs, r)
		}
	}
	if len(refs) == 0 {
		return nil
	}
	return s.deleteBatch(ctx, refs)
}

// ObjectRef names one stored object version; an empty VersionID is the
// object at Key in a bucket without versions.
type ObjectRef struct{ Key, VersionID string }

// maxDeleteBatch is DeleteObjects' limit.
const maxDeleteBatch = 1000

// RemoveAll deletes every object of one document for good: each version of
// each key under prefix, delete markers included, so that nothing of a
// privileged file survives as a noncurrent version of the versioned bucket.
// known are the objects the table records (each completed version, with
// its S3 version id, and a pending upload): in a bucket without versions
// they are deleted with whatever else is listed under prefix. Missing
// objects are fine, so a retried delete succeeds.
func (s *Storage) RemoveAll(ctx context.Context, prefix string, known []ObjectRef) error {
	refs, versioned, err := s.listVersions(ctx, prefix)
	if err != nil {
		return err
	}
	if !versioned {
		// No versions to find: delete the listed keys and the known ones
		// (by key: the store has only the current object of each).
		keys, err := s.listKeys(ctx, prefix)
		if err != nil {
			return err
		}
		for _, k := range known {
			keys = append(keys, k.Key)
		}
		refs = nil
		for _, k := range keys {
			refs = append(refs, ObjectRef{Key: k})
		}
	}
	// In a versioned bucket the listing is complete (S3 lists strongly
	// consistently): the known versions are among the listed ones, and
	// deleting a key without a version id would only add a delete marker.
	refs = dedupe(refs)
	for len(refs) > 0 {
		n := min(len(refs), maxDeleteBatch)
		if err := s.deleteBatch(ctx, refs[:n]); err != nil {
			return err
		}
		refs = refs[n:]
	}
	return nil
}

// listVersions lists every version and delete marker under prefix.
// versioned is false when the store does not keep versions at all (the
// local stand-in answers NotImplemented).
func (s *Storage) listVersions(ctx context.Context, prefix string) (refs []ObjectRef, versioned bool, err error) {
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(s.Bucket), Prefix: aws.String(prefix)}
	for {
		out, err := s.API.ListObjectVersions(ctx, in)
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode() == "NotImplemented" {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, unavailable("list object versions", err)
		}
		for _, v := range out.Versions {
			refs = append(refs, ObjectRef{Key: aws.ToString(v.Key), VersionID: aws.ToString(v.VersionId)})
		}
		for _, m := range out.DeleteMarkers {
			refs = append(refs, ObjectRef{Key: aws.ToString(m.Key), VersionID: aws.ToString(m.VersionId)})
		}
		if !aws.ToBool(out.IsTruncated) {
			return refs, true, nil
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
}

// listKeys lists the keys under prefix.
func (s *Storage) listKeys(ctx context.Context, prefix string) ([]string, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(prefix)}
	var keys []string
	for {
		out, err := s.API.ListObjectsV2(ctx, in)
		if err != nil {
			return nil, unavailable("list objects", err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			return keys, nil
		}
		in.ContinuationToken = out.NextContinuationToken
	}
}

func (s *Storage) deleteBatch(ctx context.Context, refs []ObjectRef) error {
	objs := make([]types.ObjectIdentifier, len(refs))
	for i, r := range refs {
		objs[i] = types.ObjectIdentifier{Key: aws.String(r.Key)}
		if r.VersionID != "" {
			objs[i].VersionId = aws.String(r.VersionID)
		}
	}
	out, err := s.API.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(s.Bucket),
		Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)}})
	if err != nil {
		return unavailable("delete objects", err)
	}
	for _, e := range out.Errors {
		switch aws.ToString(e.Code) {
		case "NoSuchKey", "NoSuchVersion":
		default:
			return unavailable("delete objects", fmt.Errorf("%s (version %s): %s: %s", aws.ToString(e.Key),
				aws.ToString(e.VersionId), aws.ToString(e.Code), aws.ToString(e.Message)))
		}
	}
	return nil
}

func dedupe(refs []ObjectRef) []ObjectRef {
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Key != refs[j].Key {
			return refs[i].Key < refs[j].Key
		}
		return refs[i].VersionID < refs[j].VersionID
	})
	out := refs[:0]
	for i, r := range refs {
		if i == 0 || r != refs[i-1] {
			out = append(out, r)
		}
	}
	return out
}

// isNotFound reports whether S3 answered that the object (or version) does
// not exist. HEAD answers carry no error code, only the status.
func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	var nf *types.NotFound
	var nsk *types.NoSuchKey
	if errors.As(err, &nf) || errors.As(err, &nsk) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchKey", "NoSuchVersion":
			return true
		case "NoSuchBucket":
			return false // a deployment fault, not a missing upload
		}
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}

// unavailable is an S3 failure: the client gets 503 with Retry-After and
// the cause (object keys hold ids only) goes to the log.
func unavailable(op string, err error) error {
	return &fault.Error{Kind: fault.Unavailable, Message: "The document store is unavailable; try again shortly.",
		RetryAfter: 2 * time.Second, Err: fmt.Errorf("s3 %s: %w", op, err)}
}
