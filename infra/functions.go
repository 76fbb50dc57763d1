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

	"github.com/matterly/matterly/shared/calendar"
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/esign"
	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/payments"
	"github.com/matterly/matterly/shared/privacy"
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

// newFunctions builds one function per routes.Functions() entry, with the
// permissions permsFor gives it: each grant sets the environment value
// that names what it grants, so a function learns of a resource exactly
// when it may use it.
func newFunctions(stack awscdk.Stack, d *dataPlane, props *MatterlyStackProps) []function {
	// Every HTTP function starts with config.HTTP: the table, the signing
	// keys and the token key (the webhook's table client is never used:
	// its role has no table grant).
	env := map[string]*string{
		config.EnvTableName:        d.table.TableName(),
		config.EnvSigningSecretARN: d.signing.SecretArn(),
		config.EnvKMSKeyID:         d.key.KeyArn(),
		config.EnvTokenIssuer:      jsii.String(tokenIssuer),
		config.EnvTokenAudience:    jsii.String(tokenAudience),
		config.EnvCORSOrigins:      jsii.String(strings.Join(props.CorsOrigins, ",")),
		config.EnvLogLevel:         jsii.String(logLevel),
		config.EnvEventBus:         d.events.EventBusName(),
		config.EnvTokenPublicKey:   newTokenPublicKey(stack, d, props),
	}

	var out []function
	for _, name := range routes.Functions() {
		p := permsFor(name)
		fnEnv := maps.Clone(env)
		fn := newGoFunction(stack, pascal(name), &awslambda.FunctionProps{
			Description: jsii.String("Matterly " + name),
			Code:        awslambda.Code_FromAsset(jsii.String(codePath(props.CodeDir, name)), nil),
			MemorySize:  jsii.Number(cmp.Or(p.MemoryMB, 256)),
			Timeout:     awscdk.Duration_Seconds(jsii.Number(cmp.Or(p.TimeoutSeconds, 10))),
			Tracing:     awslambda.Tracing_ACTIVE,
			Environment: &fnEnv,
		})
		setEnv := func(name string, value *string) { fn.AddEnvironment(jsii.String(name), value, nil) }
		var queues []string

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
			setEnv(config.EnvBucketName, d.bucket.BucketName())
			d.grantDocuments(fn, true)
		}
		if p.ReadDocuments {
			setEnv(config.EnvBucketName, d.bucket.BucketName())
			d.grantDocuments(fn, false)
		}
		if p.PrivacyExports {
			setEnv(config.EnvBucketName, d.bucket.BucketName())
			d.grantExports(fn, false)
			queues = append(queues, privacy.Queue+"="+*d.privacy.exports.QueueUrl())
			d.privacy.exports.GrantSendMessages(fn)
		}
		if p.Erasure {
			setEnv(config.EnvBucketName, d.bucket.BucketName())
			d.grantErasure(fn)
		}
		if p.ESign {
			for k, v := range d.esign.env(props) {
				setEnv(k, v)
			}
			d.esign.secret.GrantRead(fn, nil)
		}
		if p.Giphy {
			setEnv(config.EnvGiphySecretARN, d.chat.giphy.SecretArn())
			d.chat.giphy.GrantRead(fn, nil)
		}
		if p.ESignFiles {
			queues = append(queues, esign.FilesQueue+"="+*d.esign.files.QueueUrl())
			d.esign.files.GrantSendMessages(fn)
		}
		if p.Calendar {
			for k, v := range d.calendar.env(props) {
				setEnv(k, v)
			}
			d.calendar.secret.GrantRead(fn, nil)
			d.calendar.grantTokens(fn)
		}
		if p.CalendarQueue {
			queues = append(queues, calendar.Queue+"="+*d.calendar.queue.QueueUrl())
			d.calendar.queue.GrantSendMessages(fn)
		}
		if p.Events {
			d.events.GrantPutEventsTo(fn, nil)
		}
		if p.AuditVerify {
			d.grantAuditKey(fn, false)
			d.grantAnchorReads(fn)
		}
		if p.Seal {
			// Stated on its own, not left to the table's key grant: the
			// secrets' envelope keys are this function's to ask for.
			setEnv(config.EnvKMSKeyID, d.key.KeyArn())
			d.key.Grant(fn, jsii.String("kms:GenerateDataKey"), jsii.String("kms:Decrypt"))
		}
		if p.TokenSigner {
			setEnv(config.EnvTokenSecretARN, d.tokenSecret.SecretArn())
			d.tokenSecret.GrantRead(fn, nil)
		}
		if p.Stripe {
			setEnv(config.EnvStripeSecretARN, d.stripe.SecretArn())
			d.stripe.GrantRead(fn, nil)
		}
		if p.StripeWebhook {
			setEnv(config.EnvStripeWebhookSecretARN, d.webhook.SecretArn())
			d.webhook.GrantRead(fn, nil)
			queues = append(queues, payments.EventsQueue+"="+*d.stripeEvents.QueueUrl())
			d.stripeEvents.GrantSendMessages(fn)
		}
		if p.Twilio {
			setEnv(config.EnvTwilioSecretARN, d.messaging.twilio.SecretArn())
			d.messaging.twilio.GrantRead(fn, nil)
		}
		if p.Messages {
			queues = append(queues, messaging.Queue+"="+*d.messaging.queue.QueueUrl())
			d.messaging.queue.GrantSendMessages(fn)
		}
		if p.Summaries {
			queues = append(queues, summaries.Queue+"="+*d.ai.queue.QueueUrl())
			d.ai.queue.GrantSendMessages(fn)
		}
		if p.OpenAI {
			for k, v := range d.ai.env(props) {
				setEnv(k, v)
			}
			d.ai.openai.GrantRead(fn, nil)
		}
		if p.AccountEmail && len(props.CorsOrigins) > 0 {
			// Invitation and password-reset links open the web app: its
			// origin is the first CORS origin (as payments' return URLs).
			setEnv(config.EnvAppBaseURL, jsii.String(props.CorsOrigins[0]))
		}
		if p.AccountEmail && props.EmailFrom != "" {
			setEnv(config.EnvEmailFrom, jsii.String(props.EmailFrom))
			fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("ses:SendEmail"),
				Resources: sendingIdentities(stack, props.EmailFrom),
			}))
		}
		if len(queues) > 0 {
			setEnv(config.EnvQueueURLs, jsii.String(strings.Join(queues, ",")))
		}
		out = append(out, function{name: name, fn: fn})
	}
	return out
}

// sendingIdentities are the SES identities an address may be sent from:
// the address itself and its domain (SES authorizes a send against
// whichever of the two is verified).
func sendingIdentities(stack awscdk.Stack, address string) *[]*string {
	arn := func(identity string) *string {
		return stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ses"), Resource: jsii.String("identity"), ResourceName: jsii.String(identity)})
	}
	_, domain, _ := strings.Cut(address, "@")
	return &[]*string{arn(address), arn(domain)}
}
