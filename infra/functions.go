// The functions of the route table: one Lambda each, with each
// environment value set beside the grant it goes with.

package main

import (
	"cmp"
	"maps"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/payments"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/summaries"
)

// function is one deployed Lambda with the name it has in the route table.
type function struct {
	name string
	fn   awslambda.Function
}

// newGoFunction is a Go Lambda with the fixed runtime (provided.al2023 on
// arm64, a bootstrap binary) and a log group of its own: an explicit log
// group gives us the retention (Lambda's implicit one keeps logs forever)
// and lets CloudFormation own its lifecycle.
func newGoFunction(stack awscdk.Stack, id string, p *awslambda.FunctionProps) awslambda.Function {
	p.Runtime = awslambda.Runtime_PROVIDED_AL2023()
	p.Architecture = awslambda.Architecture_ARM_64()
	p.Handler = jsii.String("bootstrap")
	logs := awslogs.NewLogGroup(stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_MONTH,
	})
	p.LogGroup = logs
	// A role of our own instead of the AWSLambdaBasicExecutionRole managed
	// policy, which may create log groups and write to any of them: this one
	// writes to its own log group only.
	role := awsiam.NewRole(stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Matterly " + id + " function"),
	})
	logs.GrantWrite(role)
	p.Role = role
	return awslambda.NewFunction(stack, jsii.String(id+"Function"), p)
}

func newFunctions(stack awscdk.Stack, d *dataPlane, props *MatterlyStackProps) []function {
	env := map[string]*string{
		"TABLE_NAME":         d.table.TableName(),
		"SIGNING_SECRET_ARN": d.signing.SecretArn(),
		"KMS_KEY_ID":         d.key.KeyArn(),
		"TOKEN_ISSUER":       jsii.String(tokenIssuer),
		"TOKEN_AUDIENCE":     jsii.String(tokenAudience),
		"CORS_ORIGINS":       jsii.String(strings.Join(props.CorsOrigins, ",")),
		"LOG_LEVEL":          jsii.String(logLevel),
		"EVENT_BUS_NAME":     d.events.EventBusName(),
		"TOKEN_PUBLIC_KEY":   newTokenPublicKey(stack, d, props),
	}

	var out []function
	for _, name := range routes.Functions() {
		p := permsFor(name)
		fnEnv := maps.Clone(env)
		if p.Bucket {
			// Only functions that may touch the bucket learn its name.
			fnEnv["BUCKET_NAME"] = d.bucket.BucketName()
		}
		if p.TokenSigner {
			fnEnv["TOKEN_SECRET_ARN"] = d.tokenSecret.SecretArn()
		}
		if p.Stripe {
			fnEnv["STRIPE_SECRET_ARN"] = d.stripe.SecretArn()
		}
		var queues []string
		if p.StripeWebhook {
			fnEnv["STRIPE_WEBHOOK_SECRET_ARN"] = d.webhook.SecretArn()
			queues = append(queues, payments.EventsQueue+"="+*d.stripeEvents.QueueUrl())
		}
		if p.Twilio {
			fnEnv["TWILIO_SECRET_ARN"] = d.messaging.twilio.SecretArn()
		}
		if p.Messages {
			queues = append(queues, messaging.Queue+"="+*d.messaging.queue.QueueUrl())
		}
		if p.Summaries {
			queues = append(queues, summaries.Queue+"="+*d.ai.queue.QueueUrl())
		}
		if p.OpenAI {
			maps.Copy(fnEnv, d.ai.env(props))
		}
		if len(queues) > 0 {
			fnEnv["QUEUE_URLS"] = jsii.String(strings.Join(queues, ","))
		}
		fn := newGoFunction(stack, pascal(name), &awslambda.FunctionProps{
			Description: jsii.String("Matterly " + name),
			Code:        awslambda.Code_FromAsset(jsii.String(codePath(props.CodeDir, name)), nil),
			MemorySize:  jsii.Number(cmp.Or(p.MemoryMB, 256)),
			Timeout:     awscdk.Duration_Seconds(jsii.Number(cmp.Or(p.TimeoutSeconds, 10))),
			Tracing:     awslambda.Tracing_ACTIVE,
			Environment: &fnEnv,
		})

		if p.Table {
			// Exactly the item actions the store package uses: no Scan (lists
			// are always queries), no table management.
			d.grantTable(fn)
		}
		if p.Secret {
			d.signing.GrantRead(fn, nil)
		}
		if p.Bucket {
			// Presigned URLs act with this role, so browsers get no more.
			d.grantDocuments(fn, true)
		}
		if p.Events {
			d.events.GrantPutEventsTo(fn, nil)
		}
		if p.TokenSigner {
			d.tokenSecret.GrantRead(fn, nil)
		}
		if p.Stripe {
			d.stripe.GrantRead(fn, nil)
		}
		if p.StripeWebhook {
			d.webhook.GrantRead(fn, nil)
			d.stripeEvents.GrantSendMessages(fn)
		}
		if p.Twilio {
			d.messaging.twilio.GrantRead(fn, nil)
		}
		if p.Messages {
			d.messaging.queue.GrantSendMessages(fn)
		}
		if p.Summaries {
			d.ai.queue.GrantSendMessages(fn)
		}
		if p.OpenAI {
			d.ai.openai.GrantRead(fn, nil)
		}
		out = append(out, function{name: name, fn: fn})
	}
	return out
}
