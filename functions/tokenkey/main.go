// Command tokenkey is the CloudFormation custom resource that publishes the
// access-token public key at deploy time (see package tokenkey).
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/tokenkey"
)

func main() {
	platform.Main(func() error {
		awsCfg, err := awsconfig.LoadDefaultConfig(context.Background())
		if err != nil {
			return err
		}
		sm := platform.SecretsManager{Client: secretsmanager.NewFromConfig(awsCfg)}
		lambda.Start(cfn.LambdaWrap(tokenkey.Handler(sm, time.Sleep)))
		return nil
	})
}
