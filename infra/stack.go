package main

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/payments"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/summaries"
)

// Values the functions read from their environment (names fixed by shared/config).
const (
	tokenIssuer   = "matterly"
	tokenAudience = "matterly-app"
	logLevel      = "info"
)

// MatterlyStackProps configures NewMatterlyStack.
type MatterlyStackProps struct {
	awscdk.StackProps
	// CodeDir holds one <function>.zip (a bootstrap binary) per function of
	// routes.Functions(), plus fnTokenKey and fnRelay; relative paths
	// resolve against the working directory.
	CodeDir string
	// CorsOrigins are the browser origins the HTTP API allows. They must be
	// explicit: the refresh cookie needs credentials, which rule out "*".
	CorsOrigins []string
	// TokenKeyVersion is bumped after rotating the token secret, so the
	// deploy republishes the public key ("1" when empty).
	TokenKeyVersion string
	// OpenAIBaseURL and OpenAIModel point the AI features at Azure OpenAI
	// or another OpenAI-compatible server ("" for OpenAI and its default).
	OpenAIBaseURL, OpenAIModel string
	// EmailFrom is the SES-verified address email goes from when an org
	// sets none; empty, orgs must set their own (fromEmail).
	EmailFrom string
}

// dataPlane holds the stateful resources every function may be granted.
type dataPlane struct {
	key         awskms.Key
	table       awsdynamodb.Table
	bucket      awss3.Bucket
	signing     awssecretsmanager.Secret
	tokenSecret awssecretsmanager.Secret
	stripe      awssecretsmanager.Secret
	webhook     awssecretsmanager.Secret
	events      awsevents.EventBus
	// stripeEvents is the queue from the Stripe webhook to its worker.
	stripeEvents awssqs.Queue
	stripeDLQ    awssqs.Queue
	messaging    *messagingPlane
	ai           *aiPlane
}

// NewMatterlyStack builds the whole backend: KMS key, table, bucket, signing
// secret, one Lambda function per routes.Functions() entry, the HTTP API with
// one route per routes.Table entry, the event relay on the table's stream,
// and alarms.
func NewMatterlyStack(scope constructs.Construct, id string, props *MatterlyStackProps) awscdk.Stack {
	if props == nil {
		props = &MatterlyStackProps{}
	}
	if err := validateOrigins(props.CorsOrigins); err != nil {
		panic(err)
	}
	if props.TokenKeyVersion == "" {
		props.TokenKeyVersion = "1"
	}
	stack := awscdk.NewStack(scope, &id, &props.StackProps)

	d := newDataPlane(stack, props.CorsOrigins)
	fns := newFunctions(stack, d, props)
	r := newRelay(stack, d, props)
	worker := newStripeWorker(stack, d, props)
	api, stage := newHTTPAPI(stack, fns, props.CorsOrigins)
	urls := newFunctionURLs(stack, fns, props.CorsOrigins)
	background := []function{{name: fnStripeWorker, fn: worker},
		{name: fnMessageWorker, fn: newMessageWorker(stack, d, props, stage.Url(), urls[routes.FnTwilioWebhook])},
		{name: fnNotifier, fn: newNotifier(stack, d, props)},
		{name: fnAIWorker, fn: newAIWorker(stack, d, props)}}
	newAlarms(stack, append(fns, background...), r, api)
	suppressNag(stack, d, api, append(fns, background...), r)

	awscdk.NewCfnOutput(stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{
		Value:       stage.Url(),
		Description: jsii.String("Base URL of the app HTTP API"),
	})
	return stack
}

func newDataPlane(stack awscdk.Stack, corsOrigins []string) *dataPlane {
	// One customer-managed key for table, bucket and secret: key policy and
	// CloudTrail show every use, and deleting the stack never deletes the key
	// (data encrypted with it would be lost for good).
	key := awskms.NewKey(stack, jsii.String("DataKey"), &awskms.KeyProps{
		Description:       jsii.String("Matterly data: DynamoDB table, S3 bucket, secrets"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})

	// Table rather than TableV2: TableV2 emits AWS::DynamoDB::GlobalTable,
	// whose customer-managed-key replica settings cannot be rendered in a
	// region-agnostic stack, and this stack stays region-agnostic.
	table := awsdynamodb.NewTable(stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey: stringAttr(store.AttrPK),
		SortKey:      stringAttr(store.AttrSK),
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection:  jsii.Bool(true),
		Encryption:          awsdynamodb.TableEncryption_CUSTOMER_MANAGED,
		EncryptionKey:       key,
		TimeToLiveAttribute: jsii.String(store.AttrTTL),
		// The relay reads new activity entries from the stream (see newRelay);
		// it needs the item as written, never the old one.
		Stream:        awsdynamodb.StreamViewType_NEW_IMAGE,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	for _, ix := range store.Indexes {
		g := &awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix.Name),
			PartitionKey:   stringAttr(ix.PartitionKey),
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		}
		if ix.SortKey != "" {
			g.SortKey = stringAttr(ix.SortKey)
		}
		table.AddGlobalSecondaryIndex(g)
	}

	bucket := awss3.NewBucket(stack, jsii.String("Bucket"), &awss3.BucketProps{
		Encryption:    awss3.BucketEncryption_KMS,
		EncryptionKey: key,
		// Bucket keys cut KMS calls (and cost) by caching a bucket-level data key.
		BucketKeyEnabled:  jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		Versioned:         jsii.Bool(true),
		LifecycleRules: &[]*awss3.LifecycleRule{
			{
				// Presigned uploads land under staging/ and complete copies
				// them to their document key; what is never completed goes.
				Id:         jsii.String("expire-staging"),
				Prefix:     jsii.String("staging/"),
				Expiration: awscdk.Duration_Days(jsii.Number(1)),
				// Versioned bucket: the expiry leaves a delete marker, so the
				// upload's bytes (now noncurrent) go a day later too.
				NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(1)),
				AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
			},
			{
				Id:         jsii.String("expire-exports"),
				Prefix:     jsii.String("exports/"),
				Expiration: awscdk.Duration_Days(jsii.Number(7)),
			},
			{
				Id:                                  jsii.String("expire-noncurrent"),
				NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(90)),
				AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
			},
		},
		// Browsers upload and download documents straight to S3 with presigned
		// URLs. The SSE headers are signed into PUT URLs (see the policy
		// below), so the browser must be allowed to send them.
		Cors: &[]*awss3.CorsRule{{
			AllowedOrigins: jsii.Strings(corsOrigins...),
			AllowedMethods: &[]awss3.HttpMethods{awss3.HttpMethods_PUT, awss3.HttpMethods_GET, awss3.HttpMethods_HEAD},
			AllowedHeaders: jsii.Strings(
				"content-type",
				"x-amz-server-side-encryption",
				"x-amz-server-side-encryption-aws-kms-key-id",
			),
			ExposedHeaders: jsii.Strings("ETag"),
			MaxAge:         jsii.Number(600),
		}},
		// Who read or wrote which document, from S3's side.
		ServerAccessLogsBucket: newAccessLogBucket(stack),
		ServerAccessLogsPrefix: jsii.String("documents/"),
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
	})
	// KMS-only puts: StringNotEquals also matches when the header is absent,
	// so every writer must send x-amz-server-side-encryption: aws:kms (and
	// presigned PUT URLs must sign it). Default encryption alone would accept
	// an explicit SSE-S3 request and store data outside our key.
	bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("DenyNonKmsPuts"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("s3:PutObject"),
		Resources:  &[]*string{bucket.ArnForObjects(jsii.String("*"))},
		Conditions: &map[string]any{
			"StringNotEquals": map[string]any{"s3:x-amz-server-side-encryption": "aws:kms"},
		},
	}))
	// ...and only under our key: a request naming another key would store
	// data that our key policy and CloudTrail do not cover. IfExists lets
	// puts that omit the key id through; they get the bucket default (ours).
	bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("DenyOtherKmsKeys"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("s3:PutObject"),
		Resources:  &[]*string{bucket.ArnForObjects(jsii.String("*"))},
		Conditions: &map[string]any{
			"StringNotEqualsIfExists": map[string]any{"s3:x-amz-server-side-encryption-aws-kms-key-id": key.KeyArn()},
		},
	}))

	// The functions derive their cursor and link HMAC keys from this value,
	// so it is retained: losing it would break every cursor and link in flight.
	signing := newSeed(stack, key, "SigningSecret", "Matterly HMAC seed (list cursors, signed links)")
	// Only the functions that issue access tokens read this one; the rest
	// verify with the public key published from it at deploy time.
	tokenSecret := newSeed(stack, key, "TokenSecret", "Matterly access-token signing seed (Ed25519)")

	// Domain events (client.created, invoice.paid, ...) go to a bus of our
	// own, so rules and archives never mix with the account's default bus.
	events := awsevents.NewEventBus(stack, jsii.String("Events"), &awsevents.EventBusProps{})

	// The operator puts the platform's Stripe secret key here after the
	// first deploy; until then it holds "unset" and the payment routes
	// answer 503 saying so.
	stripe := newProviderSecret(stack, key, "StripeSecret",
		"Stripe secret key of the Matterly platform account (set it: aws secretsmanager put-secret-value)")
	webhook := newProviderSecret(stack, key, "StripeWebhookSecret",
		"Stripe webhook signing secret (whsec_...) of the endpoint <ApiUrl>/webhooks/stripe (set it: aws secretsmanager put-secret-value)")
	// Verified Stripe events wait here for the worker; one that fails five
	// times moves to the DLQ, which alarms: an event is never dropped.
	stripeEvents, stripeDLQ := newWorkQueue(stack, key, "StripeEvents", 4, 5, workerTimeoutSeconds,
		"Stripe events the worker could not apply: payments or invoice states need a person")
	return &dataPlane{key: key, table: table, bucket: bucket, signing: signing, tokenSecret: tokenSecret, stripe: stripe, webhook: webhook,
		events: events, stripeEvents: stripeEvents, stripeDLQ: stripeDLQ, messaging: newMessagingPlane(stack, key), ai: newAIPlane(stack, key)}
}

// newAccessLogBucket receives the documents bucket's server access logs.
// S3 log delivery writes with SSE-S3 only (it cannot use our key); the logs
// hold keys and requesters, never document contents.
func newAccessLogBucket(stack awscdk.Stack) awss3.Bucket {
	return awss3.NewBucket(stack, jsii.String("AccessLogs"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:         jsii.String("expire-access-logs"),
			Expiration: awscdk.Duration_Days(jsii.Number(365)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}

// newProviderSecret holds a provider's credentials, which the operator
// puts in after the first deploy; until then it holds "unset" and the
// capability answers 503 saying what to set.
func newProviderSecret(stack awscdk.Stack, key awskms.Key, id, description string) awssecretsmanager.Secret {
	return awssecretsmanager.NewSecret(stack, jsii.String(id), &awssecretsmanager.SecretProps{
		Description:       jsii.String(description),
		EncryptionKey:     key,
		SecretStringValue: awscdk.SecretValue_UnsafePlainText(jsii.String(platform.UnsetSecret)),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
}

// newWorkQueue is a KMS-encrypted queue for a worker (visibility six times
// the worker's timeout, as AWS advises for event sources) and its DLQ, where
// a message lands after maxReceives failed deliveries, with an alarm: work
// is never dropped unseen.
func newWorkQueue(stack awscdk.Stack, key awskms.Key, id string, retentionDays, maxReceives, workerTimeout float64, alarm string) (queue, dlq awssqs.Queue) {
	dlq = awssqs.NewQueue(stack, jsii.String(id+"Failures"), &awssqs.QueueProps{
		Encryption: awssqs.QueueEncryption_KMS, EncryptionMasterKey: key,
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)), EnforceSSL: jsii.Bool(true),
	})
	queue = awssqs.NewQueue(stack, jsii.String(id), &awssqs.QueueProps{
		Encryption: awssqs.QueueEncryption_KMS, EncryptionMasterKey: key,
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(retentionDays)), EnforceSSL: jsii.Bool(true),
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(6 * workerTimeout)),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(maxReceives)},
	})
	dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
		Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum"),
	}).CreateAlarm(stack, jsii.String(id+"FailuresAlarm"), &awscloudwatch.CreateAlarmOptions{
		AlarmDescription: jsii.String(alarm),
		Threshold:        jsii.Number(1), EvaluationPeriods: jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	return queue, dlq
}

// newSeed is a generated, retained 64-character secret encrypted with key.
func newSeed(stack awscdk.Stack, key awskms.Key, id, description string) awssecretsmanager.Secret {
	return awssecretsmanager.NewSecret(stack, jsii.String(id), &awssecretsmanager.SecretProps{
		Description:   jsii.String(description),
		EncryptionKey: key,
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(64),
			ExcludePunctuation: jsii.Bool(true),
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
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

// fnTokenKey is the deploy-time function (functions/tokenkey) that
// publishes the access-token public key; it serves no route.
const fnTokenKey = "tokenkey"

// newTokenPublicKey runs functions/tokenkey as a custom resource: it reads
// the token secret and returns the public key, which every function gets as
// TOKEN_PUBLIC_KEY. The public key is not a secret.
func newTokenPublicKey(stack awscdk.Stack, d *dataPlane, props *MatterlyStackProps) *string {
	fn := newGoFunction(stack, "TokenKey", &awslambda.FunctionProps{
		Description: jsii.String("Matterly deploy step: publishes the access-token public key"),
		Code:        awslambda.Code_FromAsset(jsii.String(codePath(props.CodeDir, fnTokenKey)), nil),
		MemorySize:  jsii.Number(128),
		Timeout:     awscdk.Duration_Seconds(jsii.Number(30)),
	})
	d.tokenSecret.GrantRead(fn, nil)
	cr := awscdk.NewCustomResource(stack, jsii.String("TokenPublicKey"), &awscdk.CustomResourceProps{
		ServiceToken: fn.FunctionArn(),
		// A function that dies at init never answers; fail the deploy in
		// minutes rather than CloudFormation's default hour.
		ServiceTimeout: awscdk.Duration_Minutes(jsii.Number(5)),
		// KeyVersion changes make the resource run again: bump it (context
		// tokenKeyVersion) after rotating the token secret.
		Properties: &map[string]any{"SecretArn": d.tokenSecret.SecretArn(), "KeyVersion": props.TokenKeyVersion},
	})
	return cr.GetAttString(jsii.String("PublicKey"))
}

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
			"TABLE_NAME":        d.table.TableName(),
			"STRIPE_SECRET_ARN": d.stripe.SecretArn(),
			"LOG_LEVEL":         jsii.String(logLevel),
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

// fnRelay is the function (functions/relay) that publishes domain events:
// the API functions write an activity entry carrying the event's
// detail-type in its `event` attribute in the same transaction as the
// change, and the relay puts it on the bus from the table's stream. It
// serves no route.
const fnRelay = "relay"

// relay is the stream consumer and the queue its failed batches go to.
type relay struct {
	fn  awslambda.Function
	dlq awssqs.Queue
}

// newRelay runs functions/relay on the table's stream. Its role may read
// the stream (and decrypt it with the data key) and put events on the bus;
// it gets no item access and no secrets.
func newRelay(stack awscdk.Stack, d *dataPlane, props *MatterlyStackProps) *relay {
	fn := newGoFunction(stack, pascal(fnRelay), &awslambda.FunctionProps{
		Description: jsii.String("Matterly relay: publishes domain events from the table stream"),
		Code:        awslambda.Code_FromAsset(jsii.String(codePath(props.CodeDir, fnRelay)), nil),
		MemorySize:  jsii.Number(256),
		Timeout:     awscdk.Duration_Seconds(jsii.Number(30)),
		Tracing:     awslambda.Tracing_ACTIVE,
		Environment: &map[string]*string{
			"EVENT_BUS_NAME": d.events.EventBusName(),
			"LOG_LEVEL":      jsii.String(logLevel),
		},
	})

	// A stream DLQ receives the position of a batch given up on (shard,
	// sequence numbers), not its records; stream records expire after 24
	// hours, so a replay starts from the activity entries in the table.
	dlq := awssqs.NewQueue(stack, jsii.String("RelayFailures"), &awssqs.QueueProps{
		Encryption:          awssqs.QueueEncryption_KMS,
		EncryptionMasterKey: d.key,
		RetentionPeriod:     awscdk.Duration_Days(jsii.Number(14)),
		EnforceSSL:          jsii.Bool(true),
	})

	// Binding the source grants the role table.GrantStreamRead: DescribeStream,
	// GetRecords and GetShardIterator on the stream, kms:Decrypt and
	// kms:DescribeKey on the data key (the stream is encrypted with it), and
	// dynamodb:ListStreams, which IAM only grants on "*". The DLQ destination
	// grants SendMessage on the queue and the key use its encryption needs.
	fn.AddEventSource(awslambdaeventsources.NewDynamoEventSource(d.table, &awslambdaeventsources.DynamoEventSourceProps{
		// From the oldest record the stream holds, so entries written before
		// the mapping was enabled are published too.
		StartingPosition:  awslambda.StartingPosition_TRIM_HORIZON,
		BatchSize:         jsii.Number(25),
		MaxBatchingWindow: awscdk.Duration_Seconds(jsii.Number(1)),
		// The relay reports the first record it could not publish, and
		// Lambda retries from there, so earlier records are not published
		// again. A batch failing as a whole is bisected to isolate a poison
		// record; once retries or record age run out, its position goes to
		// the DLQ.
		BisectBatchOnError:      jsii.Bool(true),
		ReportBatchItemFailures: jsii.Bool(true),
		RetryAttempts:           jsii.Number(10),
		MaxRecordAge:            awscdk.Duration_Hours(jsii.Number(24)),
		// One batch per shard at a time keeps each item's events in order.
		ParallelizationFactor: jsii.Number(1),
		OnFailure:             awslambdaeventsources.NewSqsDlq(dlq),
		// Only new activity entries that announce an event; every other
		// write never invokes the function.
		Filters: &[]*map[string]any{relayFilter()},
	}))
	d.events.GrantPutEventsTo(fn, nil)
	return &relay{fn: fn, dlq: dlq}
}

// relayFilter matches INSERT records whose new image has a string
// attribute `event` (the EventBridge detail-type).
func relayFilter() *map[string]any {
	return awslambda.FilterCriteria_Filter(&map[string]any{
		"eventName": awslambda.FilterRule_IsEqual(jsii.String("INSERT")),
		"dynamodb": map[string]any{
			"NewImage": map[string]any{
				"event": map[string]any{"S": awslambda.FilterRule_Exists()},
			},
		},
	})
}

func stringAttr(name string) *awsdynamodb.Attribute {
	return &awsdynamodb.Attribute{Name: jsii.String(name), Type: awsdynamodb.AttributeType_STRING}
}

// function is one deployed Lambda with the name it has in the route table.
type function struct {
	name string
	fn   awslambda.Function
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

// grantTable lets fn use the table's items and its indexes (named one by
// one, not index/*) with tableActions, and the data key they are encrypted
// with.
func (d *dataPlane) grantTable(fn awslambda.Function) {
	arns := []*string{d.table.TableArn()}
	for _, ix := range store.Indexes {
		arns = append(arns, jsii.String(*d.table.TableArn()+"/index/"+ix.Name))
	}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   tableActions,
		Resources: &arns,
	}))
	d.key.GrantEncryptDecrypt(fn)
}

// grantDocuments lets fn read the documents bucket's objects (GetObject
// covers HEAD and ranges, GetObjectVersion reads by VersionId) and, with
// write, put and delete them (versions too) and list keys and versions,
// which deleting every version of a document needs. The key actions are
// the ones SSE-KMS puts (GenerateDataKey) and gets (Decrypt) need; nothing
// touches the bucket's configuration.
func (d *dataPlane) grantDocuments(fn awslambda.Function, write bool) {
	objects := []string{"s3:GetObject", "s3:GetObjectVersion"}
	keyActions := []string{"kms:Decrypt"}
	if write {
		objects = append(objects, "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion")
		keyActions = append(keyActions, "kms:GenerateDataKey")
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("s3:ListBucket", "s3:ListBucketVersions"),
			Resources: &[]*string{d.bucket.BucketArn()},
		}))
	}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(objects...),
		Resources: &[]*string{d.bucket.ArnForObjects(jsii.String("*"))},
	}))
	d.key.Grant(fn, *jsii.Strings(keyActions...)...)
}

// tableActions are the DynamoDB actions of shared/store: single-item reads
// and writes, queries (table and GSIs), batch reads and transactions, whose
// items are authorized as PutItem/UpdateItem/DeleteItem/ConditionCheckItem.
var tableActions = jsii.Strings(
	"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query",
	"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
	"dynamodb:ConditionCheckItem",
)

func newHTTPAPI(stack awscdk.Stack, fns []function, origins []string) (awsapigatewayv2.HttpApi, awsapigatewayv2.HttpStage) {
	api := awsapigatewayv2.NewHttpApi(stack, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
		ApiName:     stack.StackName(),
		Description: jsii.String("Matterly app API"),
		CorsPreflight: &awsapigatewayv2.CorsPreflightOptions{
			AllowOrigins: jsii.Strings(origins...),
			AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{
				awsapigatewayv2.CorsHttpMethod_GET,
				awsapigatewayv2.CorsHttpMethod_POST,
				awsapigatewayv2.CorsHttpMethod_PUT,
				awsapigatewayv2.CorsHttpMethod_PATCH,
				awsapigatewayv2.CorsHttpMethod_DELETE,
				awsapigatewayv2.CorsHttpMethod_OPTIONS,
			},
			AllowHeaders:     jsii.Strings("Authorization", "Content-Type", "Idempotency-Key"),
			AllowCredentials: jsii.Bool(true), // the refresh token travels in a cookie
			MaxAge:           awscdk.Duration_Minutes(jsii.Number(10)),
		},
		// Created below so the default stage can carry throttling.
		CreateDefaultStage: jsii.Bool(false),
	})
	stage := api.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		// Caps what one runaway client can cost us before anyone looks.
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(100),
			BurstLimit: jsii.Number(200),
		},
	})
	// Access logs: one JSON line per request (no headers, no bodies, no
	// query strings), kept as long as the functions' logs.
	accessLogs := awslogs.NewLogGroup(stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_MONTH,
	})
	stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format:         jsii.String(apiAccessLogFormat),
	})

	// One integration per function, shared by all its routes: CDK binds it
	// once per API, so the template has one AWS::ApiGatewayV2::Integration
	// per function and one Lambda permission per route.
	integrations := map[string]awsapigatewayv2integrations.HttpLambdaIntegration{}
	for _, f := range fns {
		integrations[f.name] = awsapigatewayv2integrations.NewHttpLambdaIntegration(
			jsii.String(pascal(f.name)+"Integration"), f.fn,
			&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
				PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
			})
	}
	for _, r := range routes.Table {
		if r.FunctionURL {
			continue // served by the function's own URL (newFunctionURLs)
		}
		integ, ok := integrations[r.Function]
		if !ok {
			panic(fmt.Sprintf("route %s: no function %q", r.Key(), r.Function))
		}
		api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{httpMethod(r)},
			Integration: integ,
		})
	}
	return api, stage
}

// apiAccessLogFormat is the HTTP API's access log line.
const apiAccessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",` +
	`"requestTime":"$context.requestTime","routeKey":"$context.routeKey","status":"$context.status",` +
	`"responseLength":"$context.responseLength","latency":"$context.responseLatency",` +
	`"integrationError":"$context.integrationErrorMessage"}`

// newFunctionURLs gives each function serving FunctionURL routes (provider
// webhooks) its own Lambda function URL: no IAM auth, since the provider
// cannot sign with AWS credentials; the handler checks the provider's
// signature before anything else.
func newFunctionURLs(stack awscdk.Stack, fns []function, origins []string) map[string]*string {
	out := map[string]*string{}
	for _, f := range fns {
		for _, r := range routes.ForFunction(f.name) {
			if !r.FunctionURL {
				continue
			}
			opts := &awslambda.FunctionUrlOptions{AuthType: awslambda.FunctionUrlAuthType_NONE}
			if r.Stream {
				// The browser reads the stream as it comes, from the app's
				// origins, with its access token (checked by the handler).
				opts.InvokeMode = awslambda.InvokeMode_RESPONSE_STREAM
				opts.Cors = &awslambda.FunctionUrlCorsOptions{AllowedOrigins: jsii.Strings(origins...),
					AllowedMethods: &[]awslambda.HttpMethod{awslambda.HttpMethod_GET}, AllowedHeaders: jsii.Strings("Authorization"),
					MaxAge: awscdk.Duration_Minutes(jsii.Number(10))}
			}
			u := f.fn.AddFunctionUrl(opts)
			awscdk.NewCfnOutput(stack, jsii.String(pascal(f.name)+"Url"), &awscdk.CfnOutputProps{
				Value:       u.Url(),
				Description: jsii.String("Function URL serving " + r.Path),
			})
			out[f.name] = u.Url()
			break
		}
	}
	return out
}

// httpMethod maps a route's method to the CDK enum, refusing anything the
// route table should never contain (ANY would swallow the CORS preflight).
func httpMethod(r routes.Route) awsapigatewayv2.HttpMethod {
	switch m := awsapigatewayv2.HttpMethod(r.Method); m {
	case awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_POST,
		awsapigatewayv2.HttpMethod_PUT, awsapigatewayv2.HttpMethod_PATCH,
		awsapigatewayv2.HttpMethod_DELETE:
		return m
	}
	panic(fmt.Sprintf("route %s: unsupported method %q", r.Key(), r.Method))
}

func newAlarms(stack awscdk.Stack, fns []function, r *relay, api awsapigatewayv2.HttpApi) {
	fiveMinutes := &awscloudwatch.MetricOptions{
		Period:    awscdk.Duration_Minutes(jsii.Number(5)),
		Statistic: jsii.String("Sum"),
	}
	// Any error or throttle is worth a look at this scale; missing data means
	// no invocations, which is healthy.
	atLeastOne := func(desc string) *awscloudwatch.CreateAlarmOptions {
		return &awscloudwatch.CreateAlarmOptions{
			AlarmDescription:   jsii.String(desc),
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		}
	}
	for _, f := range slices.Concat(fns, []function{{name: fnRelay, fn: r.fn}}) {
		id := pascal(f.name)
		f.fn.MetricErrors(fiveMinutes).CreateAlarm(stack, jsii.String(id+"ErrorsAlarm"),
			atLeastOne(fmt.Sprintf("Lambda %s returned errors", f.name)))
		f.fn.MetricThrottles(fiveMinutes).CreateAlarm(stack, jsii.String(id+"ThrottlesAlarm"),
			atLeastOne(fmt.Sprintf("Lambda %s was throttled", f.name)))
	}
	api.MetricServerError(fiveMinutes).CreateAlarm(stack, jsii.String("Api5xxAlarm"),
		atLeastOne("HTTP API answered 5xx"))

	fiveMinuteMax := &awscloudwatch.MetricOptions{
		Period:    awscdk.Duration_Minutes(jsii.Number(5)),
		Statistic: jsii.String("Maximum"),
	}
	// A batch the relay gave up on: its events were not published.
	r.dlq.MetricApproximateNumberOfMessagesVisible(fiveMinuteMax).CreateAlarm(stack,
		jsii.String("RelayFailuresAlarm"), atLeastOne("Relay gave up on stream records: domain events not published"))
	// Events are late: a record reached the relay a minute or more after it
	// was written.
	iteratorAge := atLeastOne("Relay is behind the table stream (iterator age at least 60 s)")
	iteratorAge.Threshold = jsii.Number(60_000)
	r.fn.Metric(jsii.String("IteratorAge"), fiveMinuteMax).CreateAlarm(stack,
		jsii.String(pascal(fnRelay)+"IteratorAgeAlarm"), iteratorAge)
}

// codeFunctions are every function the stack deploys: one per route-table
// function, and those that serve no route.
func codeFunctions() []string {
	return append(routes.Functions(), fnTokenKey, fnRelay, fnStripeWorker, fnMessageWorker, fnNotifier, fnAIWorker)
}

// codePath is where the build puts a function's deployment package.
func codePath(dir, name string) string { return filepath.Join(dir, name+".zip") }

// checkCode reports every function whose zip is missing from dir, so a
// synth before `make build` fails with one clear message instead of a jsii
// stack trace.
func checkCode(dir string) error {
	var errs []error
	for _, name := range codeFunctions() {
		if _, err := os.Stat(codePath(dir, name)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func validateOrigins(origins []string) error {
	if len(origins) == 0 {
		return errors.New("no CORS origins: set the corsOrigins context value")
	}
	for _, o := range origins {
		if o == "*" {
			return errors.New(`CORS origin "*" is not allowed with credentials`)
		}
	}
	return nil
}

// pascal turns a function name ("trust-ledger") into a construct id part
// ("TrustLedger"); construct ids, and so logical ids, stay stable.
func pascal(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
