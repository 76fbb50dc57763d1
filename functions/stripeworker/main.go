// Command stripeworker is the Lambda function on the stripe-events queue:
// it applies each verified Stripe event exactly once (see payments.Worker).
// It needs only the table and the Stripe key: no signing secrets, no tokens.
package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/keys"
	"github.com/matterly/matterly/shared/logging"
	"github.com/matterly/matterly/shared/payments"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/providers/stripe"
	"github.com/matterly/matterly/shared/store"
)

func main() {
	platform.Main(func() error {
		ctx := context.Background()
		table := os.Getenv("TABLE_NAME")
		if table == "" {
			return errors.New("config: TABLE_NAME is required")
		}
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return err
		}
		key, err := keys.ReadSecret(ctx, platform.SecretsManager{Client: secretsmanager.NewFromConfig(awsCfg)}, os.Getenv("STRIPE_SECRET_ARN"))
		if err != nil {
			return err
		}
		d := &platform.Deps{
			Config:    config.Config{StripeAPIBaseURL: os.Getenv("STRIPE_API_BASE_URL")},
			Log:       logging.New(os.Stdout, os.Getenv("LOG_LEVEL"), os.Getenv("AWS_LAMBDA_FUNCTION_NAME")),
			DB:        store.New(dynamodb.NewFromConfig(awsCfg), table),
			Now:       time.Now,
			StripeKey: string(key),
		}
		lambda.Start(payments.NewWorker(d, stripe.FromDeps(d)).Handle)
		return nil
	})
}
