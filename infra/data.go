// The data plane: the KMS key, table, documents bucket, secrets, event
// bus and work queues every function may be granted, and the grants.

package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/store"
)

// dataPlane holds the stateful resources every function may be granted.
type dataPlane struct {
	key         awskms.Key
	auditKey    awskms.Key // seals the audit chains' keys (audit.go)
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
	esign        *esignPlane
	chat         *chatPlane
	calendar     *calendarPlane
	privacy      *privacyPlane
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
	return &dataPlane{key: key, auditKey: newAuditKey(stack), table: table, bucket: bucket, signing: signing, tokenSecret: tokenSecret, stripe: stripe, webhook: webhook,
		events: events, stripeEvents: stripeEvents, stripeDLQ: stripeDLQ, messaging: newMessagingPlane(stack, key), ai: newAIPlane(stack, key),
		esign: newESignPlane(stack, key), chat: newChatPlane(stack, key), calendar: newCalendarPlane(stack, key),
		privacy: newPrivacyPlane(stack, key)}
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

func stringAttr(name string) *awsdynamodb.Attribute {
	return &awsdynamodb.Attribute{Name: jsii.String(name), Type: awsdynamodb.AttributeType_STRING}
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
