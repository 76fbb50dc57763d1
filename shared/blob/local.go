// Package blob is the S3 plumbing for documents, attachments and exports.
// So far it builds the client for the local stand-in; in AWS the platform
// builds it from the function's configuration.
package blob

import (
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/matterly/matterly/shared/config"
)

// NewLocalClient returns an S3 client for a local S3-compatible endpoint
// (the embedded stand-in of make dev and the tests), path-style addressed.
func NewLocalClient(endpoint string) *s3.Client {
	return s3.NewFromConfig(config.LocalAWS(endpoint), func(o *s3.Options) { o.UsePathStyle = true })
}
