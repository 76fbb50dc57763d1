// Command relay is the Lambda function on the table's DynamoDB stream that
// publishes the domain events changes announce (see package relay).
package main

import (
	"context"
	"errors"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/matterly/matterly/shared/bus"
	"github.com/matterly/matterly/shared/logging"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/relay"
)

func main() {
	platform.Main(func() error {
		busName := os.Getenv("EVENT_BUS_NAME")
		if busName == "" {
			return errors.New("config: EVENT_BUS_NAME is required")
		}
		awsCfg, err := awsconfig.LoadDefaultConfig(context.Background())
		if err != nil {
			return err
		}
		h := relay.Handler{
			Bus: &bus.EventBridge{API: eventbridge.NewFromConfig(awsCfg), BusName: busName},
			Log: logging.New(os.Stdout, os.Getenv("LOG_LEVEL"), os.Getenv("AWS_LAMBDA_FUNCTION_NAME")),
		}
		lambda.Start(h.Handle)
		return nil
	})
}
