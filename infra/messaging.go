package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/routes"
)

// The messaging functions that serve no route.
const (
	// fnMessageWorker (functions/messageworker) sends queued SMS and email.
	fnMessageWorker = "messageworker"
	// fnNotifier (functions/notifier) runs the reminder schedule and turns
	// matter status changes into client updates.
	fnNotifier = "notifier"
)

// messageWorkerTimeout leaves a batch room for its first message's worst
// case (messaging.MinTimeLeft) and more: the worker hands back to the
// queue whatever it has no time left for.
const messageWorkerTimeout = 120

// messagingPlane is the messaging capability's share of the data plane.
type messagingPlane struct {
	twilio awssecretsmanager.Secret
	queue  awssqs.Queue
	dlq    awssqs.Queue
	// email is the SES configuration set every email goes out with: its
	// bounces and complaints go to EventBridge (the default bus, the only
	// one SES publishes to) and on to the notifier.
	email awsses.ConfigurationSet
}

func newMessagingPlane(stack awscdk.Stack, key awskms.Key) *messagingPlane {
	// The operator puts {"accountSid","authToken"} here; until then SMS
	// sends answer 503 and the Twilio webhook refuses all calls.
	twilio := newProviderSecret(stack, key, "TwilioSecret",
		`Twilio credentials as {"accountSid":"AC...","authToken":"..."} (set it: aws secretsmanager put-secret-value)`)
	// The visibility timeout is also the back-off before a throttled
	// message is tried again; one attempt more than the worker makes.
	queue, dlq := newWorkQueue(stack, key, "Messages", 1, messaging.MaxAttempts+1, messageWorkerTimeout,
		"Messages the worker gave up on: a client was not reminded or told")
	email := awsses.NewConfigurationSet(stack, jsii.String("EmailEvents"), &awsses.ConfigurationSetProps{
		SuppressionReasons: awsses.SuppressionReasons_BOUNCES_AND_COMPLAINTS,
	})
	email.AddEventDestination(jsii.String("BouncesAndComplaints"), &awsses.ConfigurationSetEventDestinationOptions{
		Destination: awsses.EventDestination_EventBus(awsevents.EventBus_FromEventBusName(stack, jsii.String("DefaultBus"), jsii.String("default"))),
		Events:      &[]awsses.EmailSendingEvent{awsses.EmailSendingEvent_BOUNCE, awsses.EmailSendingEvent_COMPLAINT},
	})
	return &messagingPlane{twilio: twilio, queue: queue, dlq: dlq, email: email}
}

// backgroundEnv is what the messaging functions off the HTTP API share.
func backgroundEnv(d *dataPlane, extra map[string]*string) *map[string]*string {
	env := map[string]*string{
		config.EnvTableName:        d.table.TableName(),
		config.EnvSigningSecretARN: d.signing.SecretArn(),
		config.EnvLogLevel:         jsii.String(logLevel),
	}
	for k, v := range extra {
		env[k] = v
	}
	return &env
}

// newMessageWorker runs functions/messageworker on the messages queue. It
// reads the Twilio secret and may send email through SES; unsubscribe links
// point at the API (apiURL) and Twilio's status callbacks at the Twilio
// webhook's function URL.
func newMessageWorker(stack awscdk.Stack, d *dataPlane, props *MatterlyStackProps, apiURL, webhookURL *string) awslambda.Function {
	equipSenders(stack, props, webhookURL)
	fn := newGoFunction(stack, pascal(fnMessageWorker), &awslambda.FunctionProps{
		Description: jsii.String("Matterly message worker: sends queued SMS (Twilio) and email (SES) at most once"),
		Code:        awslambda.Code_FromAsset(jsii.String(codePath(props.CodeDir, fnMessageWorker)), nil),
		MemorySize:  jsii.Number(256),
		Timeout:     awscdk.Duration_Seconds(jsii.Number(messageWorkerTimeout)),
		Tracing:     awslambda.Tracing_ACTIVE,
		Environment: backgroundEnv(d, map[string]*string{
			"TWILIO_SECRET_ARN":     d.messaging.twilio.SecretArn(),
			"PUBLIC_BASE_URL":       apiURL,
			"WEBHOOK_BASE_URL":      webhookURL,
			"EMAIL_FROM":            jsii.String(props.EmailFrom),
			"SES_CONFIGURATION_SET": d.messaging.email.ConfigurationSetName(),
		}),
	})
	d.grantTable(fn)
	d.signing.GrantRead(fn, nil)
	d.messaging.twilio.GrantRead(fn, nil)
	// SES authorizes a send against the sending identity and, when one is
	// named, the configuration set: only those, in this account and region.
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("ses:SendEmail"),
		Resources: &[]*string{
			stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ses"), Resource: jsii.String("identity"), ResourceName: jsii.String("*")}),
			stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ses"), Resource: jsii.String("configuration-set"), ResourceName: jsii.String("*")}),
		},
	}))
	fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(d.messaging.queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(10),
		ReportBatchItemFailures: jsii.Bool(true),
		// Twilio's default is about 1 message per second per number and
		// a few per second per account: a few workers at once are plenty.
		MaxConcurrency: jsii.Number(5),
	}))
	return fn
}

// equipSenders gives the messaging API function what giving orgs their
// own senders needs: SES's identity calls (an org's email domains), the
// Twilio webhook's URL (set on the numbers and Messaging Services it buys
// and creates) and the platform's sending address (sends without a
// verified domain go from it). The route functions are built alike in
// stack.go, so the function is found by its construct id; it is built
// before the message worker, whose constructor calls this.
func equipSenders(stack awscdk.Stack, props *MatterlyStackProps, webhookURL *string) {
	fn, ok := stack.Node().TryFindChild(jsii.String(pascal(routes.FnMessaging) + "Function")).(awslambda.Function)
	if !ok {
		panic("infra: the messaging function must be built before the message worker")
	}
	fn.AddEnvironment(jsii.String("WEBHOOK_BASE_URL"), webhookURL, nil)
	fn.AddEnvironment(jsii.String("EMAIL_FROM"), jsii.String(props.EmailFrom), nil)
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("ses:CreateEmailIdentity", "ses:GetEmailIdentity", "ses:DeleteEmailIdentity"),
		Resources: &[]*string{
			stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ses"), Resource: jsii.String("identity"), ResourceName: jsii.String("*")}),
		},
	}))
}

// newNotifier runs functions/notifier every 5 minutes (reminders, and the
// sweep of messages whose hand-over to the queue was lost) and on matter
// status changes from the event bus.
func newNotifier(stack awscdk.Stack, d *dataPlane, props *MatterlyStackProps) awslambda.Function {
	fn := newGoFunction(stack, pascal(fnNotifier), &awslambda.FunctionProps{
		Description: jsii.String("Matterly notifier: appointment and payment reminders, client case updates"),
		Code:        awslambda.Code_FromAsset(jsii.String(codePath(props.CodeDir, fnNotifier)), nil),
		MemorySize:  jsii.Number(256),
		Timeout:     awscdk.Duration_Seconds(jsii.Number(120)),
		Tracing:     awslambda.Tracing_ACTIVE,
		Environment: backgroundEnv(d, map[string]*string{
			config.EnvQueueURLs: jsii.String(messaging.Queue + "=" + *d.messaging.queue.QueueUrl()),
		}),
	})
	d.grantTable(fn)
	d.signing.GrantRead(fn, nil)
	d.messaging.queue.GrantSendMessages(fn)

	// Events that fail after retries land here (with the alarm of the
	// function's errors): a missed case update is visible, not silent.
	dlq := awssqs.NewQueue(stack, jsii.String("NotifierFailures"), &awssqs.QueueProps{
		Encryption: awssqs.QueueEncryption_KMS, EncryptionMasterKey: d.key,
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)), EnforceSSL: jsii.Bool(true),
	})
	target := func() awsevents.IRuleTarget {
		return awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			RetryAttempts: jsii.Number(8), MaxEventAge: awscdk.Duration_Hours(jsii.Number(6)), DeadLetterQueue: dlq,
		})
	}
	awsevents.NewRule(stack, jsii.String("RemindersSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Matterly reminders, every 5 minutes"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(messaging.ScheduleEvery.Minutes()))),
		Targets:     &[]awsevents.IRuleTarget{target()},
	})
	awsevents.NewRule(stack, jsii.String("EmailFeedback"), &awsevents.RuleProps{
		Description:  jsii.String("SES bounces and complaints (a complaint is an opt-out)"),
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings("aws.ses"), DetailType: jsii.Strings(messaging.FeedbackEvents...)},
		Targets:      &[]awsevents.IRuleTarget{target()},
	})
	awsevents.NewRule(stack, jsii.String("CaseUpdates"), &awsevents.RuleProps{
		Description: jsii.String("Matter status changes that may notify the client"),
		EventBus:    d.events,
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("matterly"),
			DetailType: jsii.Strings(messaging.CaseUpdateEvents...),
		},
		Targets: &[]awsevents.IRuleTarget{target()},
	})
	return fn
}
