package store

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// NewLocalClient returns a DynamoDB client for a local DynamoDB-compatible
// endpoint (the embedded stand-in of make dev and the tests). The stand-in
// does not send DynamoDB's CRC32 response checksum, so checking it is off.
func NewLocalClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:                          "us-east-1",
		BaseEndpoint:                    aws.String(endpoint),
		Credentials:                     credentials.NewStaticCredentialsProvider("local", "local", ""),
		DisableValidateResponseChecksum: true,
		Retryer:                         retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 2 }),
	})
}
