// Package awss3 is the S3 client of the functions that use the documents
// bucket. It is its own package so that only they link the S3 client.
package awss3

import (
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/platform"
)

// Client is the function's S3 client, built once per Deps: in AWS when
// BUCKET_NAME is set, locally when S3_ENDPOINT is set too (the embedded
// S3, path-style); nil otherwise.
func Client(d *platform.Deps) *s3.Client {
	cfg := d.Config
	if cfg.BucketName == "" || cfg.Local() && cfg.S3Endpoint == "" {
		return nil
	}
	return platform.Shared(d, "awss3", func() *s3.Client {
		if cfg.Local() {
			return s3.NewFromConfig(config.LocalAWS(cfg.S3Endpoint), func(o *s3.Options) { o.UsePathStyle = true })
		}
		return s3.NewFromConfig(d.AWS)
	})
}
