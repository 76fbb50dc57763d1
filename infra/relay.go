// The event relay: domain events from the table stream to the bus, and
// every activity entry to its org's audit chain.

package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/matterly/matterly/shared/config"
)

// fnRelay is the function (functions/relay) that keeps the audit log and
// publishes domain events: the API functions write an activity entry (which
// may carry an event's detail-type in its `event` attribute) in the same
// transaction as the change, and the relay appends it to the org's audit
// chain and puts its event on the bus, from the table's stream. It serves
// no route.
const fnRelay = "relay"

// relay is the stream consumer and the queue its failed batches go to.
type relay struct {
	fn  awslambda.Function
	dlq awssqs.Queue
}

// newRelay runs functions/relay on the table's stream. Its role may read
// the stream (and decrypt it with the data key), put events on the bus,
// and read and put items of the table itself for the audit chain (its head,
// entries and redelivery markers: BatchGetItem and the PutItem a
// transaction's puts are authorized as). IAM cannot narrow item access by
// sort key, so it is narrowed by action: no query, update, delete or scan,
// no index, no secrets. It alone may make audit chain keys (GenerateDataKey
// on the audit key, infra/audit.go), which the chain is keyed with.
func newRelay(stack awscdk.Stack, d *dataPlane, props *MatterlyStackProps) *relay {
	fn := newGoFunction(stack, pascal(fnRelay), &awslambda.FunctionProps{
		Description: jsii.String("Matterly relay: audit log and domain events from the table stream"),
		Code:        awslambda.Code_FromAsset(jsii.String(codePath(props.CodeDir, fnRelay)), nil),
		MemorySize:  jsii.Number(256),
		Timeout:     awscdk.Duration_Seconds(jsii.Number(30)),
		Tracing:     awslambda.Tracing_ACTIVE,
		Environment: &map[string]*string{
			config.EnvEventBus:  d.events.EventBusName(),
			config.EnvTableName: d.table.TableName(),
			config.EnvLogLevel:  jsii.String(logLevel),
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
		// Only new activity entries; every other write never invokes the
		// function.
		Filters: &[]*map[string]any{relayFilter()},
	}))
	d.events.GrantPutEventsTo(fn, nil)
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("dynamodb:BatchGetItem", "dynamodb:PutItem"),
		Resources: &[]*string{d.table.TableArn()},
	}))
	// Writing the encrypted table needs the data key; reading the stream
	// already decrypts with it.
	d.key.GrantEncryptDecrypt(fn)
	// The chains are keyed: the relay makes and opens the orgs' chain keys.
	d.grantAuditKey(fn, true)
	return &relay{fn: fn, dlq: dlq}
}

// relayFilter matches INSERT records of activity entries (type
// "activity"), as relay.Wanted does for the dev stack's stream. The audit
// items the relay writes are of other types, so they never invoke it.
func relayFilter() *map[string]any {
	return awslambda.FilterCriteria_Filter(&map[string]any{
		"eventName": awslambda.FilterRule_IsEqual(jsii.String("INSERT")),
		"dynamodb": map[string]any{
			"NewImage": map[string]any{
				"type": map[string]any{"S": awslambda.FilterRule_IsEqual(jsii.String("activity"))},
			},
		},
	})
}
