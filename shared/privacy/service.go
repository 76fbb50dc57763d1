package privacy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/matterly/matterly/shared/audit"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/queue"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Queue is the queue of export jobs, consumed by functions/privacyworker.
const Queue = "privacy-exports"

// ExportPrefix is where export zips are stored; the bucket's lifecycle rule
// on exactly this prefix deletes them after ExportDays (the retention run
// deletes them too, and the API stops handing out links at expiry).
const ExportPrefix = "exports/"

// ExportDays is how long an export's zip is kept.
const ExportDays = 7

// DownloadTTL is how long an export's download link works.
const DownloadTTL = 15 * time.Minute

// ObjectStore is the part of the S3 client privacy uses: multipart uploads
// of export zips, reads of document bytes, and the listing and deletion of
// every object version for erasure and retention.
type ObjectStore interface {
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	CreateMultipartUpload(context.Context, *s3.CreateMultipartUploadInput, ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(context.Context, *s3.UploadPartInput, ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(context.Context, *s3.CompleteMultipartUploadInput, ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(context.Context, *s3.AbortMultipartUploadInput, ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
	ListObjectVersions(context.Context, *s3.ListObjectVersionsInput, ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	DeleteObjects(context.Context, *s3.DeleteObjectsInput, ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
}

// Presigner signs download links of export zips.
type Presigner interface {
	PresignGetObject(context.Context, *s3.GetObjectInput, ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
}

// Service is the privacy capability.
type Service struct {
	DB       *store.DB
	S3       ObjectStore // nil without a bucket: exports and erasure answer 503
	Presign  Presigner
	Bucket   string
	KMSKeyID string // SSE-KMS key of export zips; "" locally
	Queue    queue.Sender
	Log      *slog.Logger
	Now      func() time.Time
	// PartSize is the multipart upload's part size (S3's minimum, 5 MiB,
	// unless a test wants more parts).
	PartSize int
	// OrgErasers erase what capabilities keep beyond their registered
	// items when a workspace is deleted (chat's live connections and
	// files, the calendar's subscriptions at Graph and its tokens). Each
	// must be safe to run again.
	OrgErasers []func(ctx context.Context, orgID string) error
	// AuditAnchors, when set, is where the retention run anchors each
	// org's audit chain head, daily (nil: no anchors, as without a bucket).
	AuditAnchors *audit.Anchors
	// Passwords checks a caller's current password against their sign-in
	// budget (identity's check): a workspace's deletion asks for it.
	Passwords PasswordChecker
}

// PasswordChecker checks a signed-in caller's current password, spending
// an attempt of their sign-in budget; a wrong one is a 422 on
// currentPassword, an empty budget a 429.
type PasswordChecker interface {
	CheckPassword(ctx context.Context, p caller.Caller, pw, failedEvent string) error
}

// NewService returns the service; s3c may be nil (no bucket configured).
func NewService(db *store.DB, s3c *s3.Client, bucket, kmsKeyID string, q queue.Sender, log *slog.Logger, now func() time.Time) *Service {
	s := &Service{DB: db, Bucket: bucket, KMSKeyID: kmsKeyID, Queue: q, Log: log, Now: now, PartSize: 5 << 20}
	if s3c != nil && bucket != "" {
		s.S3, s.Presign = s3c, s3.NewPresignClient(s3c)
	}
	return s
}

func (s *Service) storage() error {
	if s.S3 == nil {
		return &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Minute, Message: "The file store is not configured: set BUCKET_NAME."}
	}
	return nil
}

// scanPage is how many items one query page of scan reads.
const scanPage = 500

// scan calls fn with every item of org under skPrefix, page by page: the
// memory held is one page, whatever the org's size.
func (s *Service) scan(ctx context.Context, orgID, skPrefix string, fn func(item map[string]types.AttributeValue) error) error {
	in := &dynamodb.QueryInput{TableName: &s.DB.Table, KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :sk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": store.S(tenant.PK(orgID)), ":sk": store.S(skPrefix)},
		// A bounded page: the memory held is one page whatever the
		// partition's size (the local stand-in has no 1 MB page cap).
		ConsistentRead: aws.Bool(true), Limit: aws.Int32(scanPage)}
	for {
		out, err := s.DB.API.Query(ctx, in)
		if err != nil {
			return &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Second, Message: "The database is busy; try again shortly.", Err: err}
		}
		for _, item := range out.Items {
			if err := fn(item); err != nil {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// rows calls fn with each row of type t in org.
func (s *Service) rows(ctx context.Context, orgID string, t Type, fn func(item map[string]types.AttributeValue, r Row) error) error {
	return s.scan(ctx, orgID, t.SKPrefix, func(item map[string]types.AttributeValue) error {
		if itemType(item) != t.ItemType {
			return nil
		}
		r, err := t.decode(item)
		if err != nil {
			return err
		}
		return fn(item, r)
	})
}

// DeleteItems deletes every item of org under skPrefix (Purger).
func (s *Service) DeleteItems(ctx context.Context, orgID, skPrefix string) error {
	return s.scan(ctx, orgID, skPrefix, func(item map[string]types.AttributeValue) error {
		pk, _ := item[store.AttrPK].(*types.AttributeValueMemberS)
		sk, _ := item[store.AttrSK].(*types.AttributeValueMemberS)
		if pk == nil || sk == nil {
			return nil
		}
		return s.DB.Transact(ctx, s.DB.Delete(pk.Value, sk.Value, nil))
	})
}

// DeleteObjects deletes every version and delete marker of every object
// under keyPrefix (Purger), so nothing survives as a noncurrent version of
// the versioned bucket. A store that keeps no versions (the local
// stand-in answers NotImplemented) has its keys deleted instead.
func (s *Service) DeleteObjects(ctx context.Context, keyPrefix string) error {
	if err := s.storage(); err != nil {
		return err
	}
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(s.Bucket), Prefix: aws.String(keyPrefix)}
	for {
		out, err := s.S3.ListObjectVersions(ctx, in)
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode() == "NotImplemented" {
			return s.deleteKeys(ctx, keyPrefix)
		}
		if err != nil {
			return unavailable("list object versions", err)
		}
		var objs []s3types.ObjectIdentifier
		for _, v := range out.Versions {
			objs = append(objs, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range out.DeleteMarkers {
			objs = append(objs, s3types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		if err := s.deleteBatch(ctx, objs); err != nil {
			return err
		}
		if !aws.ToBool(out.IsTruncated) {
			return nil
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
}

func (s *Service) deleteKeys(ctx context.Context, keyPrefix string) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(keyPrefix)}
	for {
		out, err := s.S3.ListObjectsV2(ctx, in)
		if err != nil {
			return unavailable("list objects", err)
		}
		var objs []s3types.ObjectIdentifier
		for _, o := range out.Contents {
			objs = append(objs, s3types.ObjectIdentifier{Key: o.Key})
		}
		if err := s.deleteBatch(ctx, objs); err != nil {
			return err
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			return nil
		}
		in.ContinuationToken = out.NextContinuationToken
	}
}

func (s *Service) deleteBatch(ctx context.Context, objs []s3types.ObjectIdentifier) error {
	if len(objs) == 0 {
		return nil
	}
	out, err := s.S3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(s.Bucket), Delete: &s3types.Delete{Objects: objs, Quiet: aws.Bool(true)}})
	if err != nil {
		return unavailable("delete objects", err)
	}
	for _, e := range out.Errors {
		if c := aws.ToString(e.Code); c != "NoSuchKey" && c != "NoSuchVersion" {
			return unavailable("delete objects", errors.New(aws.ToString(e.Key)+": "+c))
		}
	}
	return nil
}

func unavailable(op string, err error) error {
	return &fault.Error{Kind: fault.Unavailable, RetryAfter: 5 * time.Second, Message: "The file store is unavailable; try again shortly.", Err: errors.Join(errors.New(op), err)}
}

// readObject opens one object version for streaming.
func (s *Service) readObject(ctx context.Context, key, versionID string) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	out, err := s.S3.GetObject(ctx, in)
	if err != nil {
		return nil, err
	}
	return out.Body, nil
}
