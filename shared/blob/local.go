// Package blob is the S3 plumbing for documents, attachments and exports:
// clients, presigned uploads that must carry the SSE-KMS headers, presigned
// downloads, and existence checks.
package blob

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// NewLocalClient returns an S3 client for a local S3-compatible endpoint
// (the embedded stand-in of make dev and the tests): path-style addressing,
// static credentials.
func NewLocalClient(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		Retryer:      retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 2 }),
	})
}
