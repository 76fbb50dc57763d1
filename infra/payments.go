// Payments off the API: the worker applying queued Stripe events.

package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/jsii-runtime-go"

	"github.com/matterly/matterly/shared/config"
)

// fnStripeWorker (functions/stripeworker) applies the Stripe events the
// webhook queued. It serves no route.
const fnStripeWorker = "stripeworker"

const workerTimeoutSeconds = 30

// newStripeWorker runs functions/stripeworker on the stripe-events queue,
// with the table and the Stripe key: no signing secrets, no token keys.
func newStripeWorker(stack awscdk.Stack, d *dataPlane, props *MatterlyStackProps) awslambda.Function {
	fn := newGoFunction(stack, pascal(fnStripeWorker), &awslambda.FunctionProps{
		Description: jsii.String("Matterly Stripe worker: applies verified Stripe events once"),
		Code:        awslambda.Code_FromAsset(jsii.String(codePath(props.CodeDir, fnStripeWorker)), nil),
		MemorySize:  jsii.Number(256),
		Timeout:     awscdk.Duration_Seconds(jsii.Number(workerTimeoutSeconds)),
		Tracing:     awslambda.Tracing_ACTIVE,
		Environment: &map[string]*string{
			config.EnvTableName:       d.table.TableName(),
			config.EnvStripeSecretARN: d.stripe.SecretArn(),
			config.EnvLogLevel:        jsii.String(logLevel),
		},
	})
	d.grantTable(fn)
	d.stripe.GrantRead(fn, nil)
	fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(d.stripeEvents, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(10),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(5),
	}))
	return fn
}
