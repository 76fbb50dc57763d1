package store

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/matterly/matterly/shared/config"
)

// NewLocalClient returns a DynamoDB client for a local DynamoDB-compatible
// endpoint (the embedded stand-in of make dev and the tests). The stand-in
// does not send DynamoDB's CRC32 response checksum, so checking it is off.
func NewLocalClient(endpoint string) *dynamodb.Client {
	return NewClient(config.LocalAWS(endpoint), func(o *dynamodb.Options) {
		o.DisableValidateResponseChecksum = true
	})
}
