package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// AnchorPrefix is where the chains' heads are anchored in the bucket, one
// object per org and day: audit-anchors/<orgId>/<YYYY-MM-DD>.json. Only the
// privacy worker (the daily retention run) may put there; the table's
// writers may not, so a chain rewritten in the table no longer matches
// the anchors of its past heads.
const AnchorPrefix = "audit-anchors/"

// Anchor is one anchored head: the chain's last entry on a day.
type Anchor struct {
	OrgID   string    `json:"orgId"`
	Day     string    `json:"day"` // YYYY-MM-DD, UTC
	Seq     int64     `json:"seq"`
	Hash    string    `json:"hash"`
	At      time.Time `json:"at"`
	Version int       `json:"version"` // of the anchored entry
}

// AnchorRef names the anchor a verification compared the chain with.
type AnchorRef struct {
	Day string `json:"day"`
	Seq int64  `json:"seq"`
}

// AnchorStore is the part of the S3 client anchors use.
type AnchorStore interface {
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// Anchors keeps the chains' anchors in Bucket (SSE-KMS under KMSKeyID
// when set).
type Anchors struct {
	S3       AnchorStore
	Bucket   string
	KMSKeyID string
}

func anchorKey(orgID, day string) string { return AnchorPrefix + orgID + "/" + day + ".json" }

// Anchor writes orgID's chain head as the anchor of now's day (a second
// run the same day replaces it with the later head). An org without an
// audit log yet has nothing to anchor; nil a is a no-op.
func (a *Anchors) Anchor(ctx context.Context, db *store.DB, orgID string, now time.Time) error {
	if a == nil {
		return nil
	}
	var head headRow
	err := db.Get(ctx, tenant.PK(orgID), headSK, &head)
	if errors.Is(err, store.ErrNotFound) || (err == nil && head.Seq == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	var last entryRow
	if err := db.Get(ctx, tenant.PK(orgID), entrySK(head.Seq), &last); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	day := now.UTC().Format("2006-01-02")
	body, _ := json.Marshal(Anchor{OrgID: orgID, Day: day, Seq: head.Seq, Hash: head.Hash, At: now.UTC(), Version: max(last.Version, V1)})
	in := &s3.PutObjectInput{Bucket: aws.String(a.Bucket), Key: aws.String(anchorKey(orgID, day)), Body: strings.NewReader(string(body)),
		ContentType: aws.String("application/json"), ContentLength: aws.Int64(int64(len(body)))}
	if a.KMSKeyID != "" {
		in.ServerSideEncryption, in.SSEKMSKeyId, in.BucketKeyEnabled = s3types.ServerSideEncryptionAwsKms, aws.String(a.KMSKeyID), aws.Bool(true)
	}
	if _, err := a.S3.PutObject(ctx, in); err != nil {
		return fmt.Errorf("audit: put anchor: %w", err)
	}
	return nil
}

// Latest reads orgID's latest anchor; nil when there is none.
func (a *Anchors) Latest(ctx context.Context, orgID string) (*Anchor, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(a.Bucket), Prefix: aws.String(AnchorPrefix + orgID + "/")}
	last := ""
	for {
		out, err := a.S3.ListObjectsV2(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("audit: list anchors: %w", err)
		}
		for _, o := range out.Contents {
			if k := aws.ToString(o.Key); k > last { // days sort as text
				last = k
			}
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			break
		}
		in.ContinuationToken = out.NextContinuationToken
	}
	if last == "" {
		return nil, nil
	}
	out, err := a.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(a.Bucket), Key: aws.String(last)})
	if err != nil {
		return nil, fmt.Errorf("audit: get anchor: %w", err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, 1<<16))
	if err != nil {
		return nil, fmt.Errorf("audit: read anchor: %w", err)
	}
	var an Anchor
	if err := json.Unmarshal(b, &an); err != nil || an.OrgID != orgID || an.Seq < 1 {
		return nil, fmt.Errorf("audit: anchor %s is unreadable", last)
	}
	return &an, nil
}
