// Command tokenkey is the CloudFormation custom resource that publishes the
// access-token public key at deploy time (see package tokenkey).
package main

import (
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/matterly/matterly/shared/awsenv"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/tokenkey"
)

func main() {
	platform.Main(func() error {
		awsCfg, err := awsenv.Config("")
		if err != nil {
			return err
		}
		sm := platform.Secrets{AWS: awsCfg}
		lambda.Start(cfn.LambdaWrap(tokenkey.Handler(sm, time.Sleep)))
		return nil
	})
}
