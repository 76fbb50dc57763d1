// Package s3anchors keeps the audit chains' anchors in the bucket (see
// audit.Anchors). It is its own package so that only the functions that
// anchor or verify a chain link the S3 client.
package s3anchors

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// API is the part of the S3 client the anchors use.
type API interface {
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// Store is audit.ObjectStore in Bucket (SSE-KMS under KMSKeyID when set).
type Store struct {
	S3       API
	Bucket   string
	KMSKeyID string
}

// maxAnchor bounds an anchor's read: one is a few hundred bytes.
const maxAnchor = 1 << 16

// Put implements audit.ObjectStore.
func (s Store) Put(ctx context.Context, key string, body []byte) error {
	in := &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: strings.NewReader(string(body)),
		ContentType: aws.String("application/json"), ContentLength: aws.Int64(int64(len(body)))}
	if s.KMSKeyID != "" {
		in.ServerSideEncryption, in.SSEKMSKeyId, in.BucketKeyEnabled = s3types.ServerSideEncryptionAwsKms, aws.String(s.KMSKeyID), aws.Bool(true)
	}
	_, err := s.S3.PutObject(ctx, in)
	return err
}

// Last implements audit.ObjectStore: every page of the listing, then the
// greatest key's object.
func (s Store) Last(ctx context.Context, prefix string) (string, []byte, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(prefix)}
	last := ""
	for {
		out, err := s.S3.ListObjectsV2(ctx, in)
		if err != nil {
			return "", nil, fmt.Errorf("list: %w", err)
		}
		for _, o := range out.Contents {
			if k := aws.ToString(o.Key); k > last {
				last = k
			}
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			break
		}
		in.ContinuationToken = out.NextContinuationToken
	}
	if last == "" {
		return "", nil, nil
	}
	out, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(last)})
	if err != nil {
		return "", nil, fmt.Errorf("get %s: %w", last, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, maxAnchor))
	return last, b, err
}
