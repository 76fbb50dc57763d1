// Privacy: the export queue and its worker (functions/privacyworker, which
// also runs the daily retention schedule), and the grants of the functions
// that read, write and erase exports and documents for the data subject's
// rights. The privacy function (the API routes) is a route-table function,
// built by newFunctions with permsFor; the exports' lifecycle rule is the
// bucket's (expire-exports, newDataPlane).

package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/matterly/matterly/shared/calendar"
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/privacy"
)

// fnPrivacyWorker (functions/privacyworker) builds exports and runs the
// retention schedule. It serves no route.
const fnPrivacyWorker = "privacyworker"

// privacyWorkerTimeout covers one workspace export streamed into S3 (or a
// retention run over every org): Lambda's maximum.
const privacyWorkerTimeout = 900

// privacyPlane is the privacy capability's share of the data plane.
type privacyPlane struct {
	exports awssqs.Queue
}

func newPrivacyPlane(stack awscdk.Stack, key awskms.Key) *privacyPlane {
	// An export that fails five times moves to the DLQ, which alarms (its
	// last delivery marks the export failed, so the owner sees it too).
	exports, _ := newWorkQueue(stack, key, "PrivacyExports", 4, 5, privacyWorkerTimeout,
		"Exports the privacy worker could not build: an owner's data export failed")
	return &privacyPlane{exports: exports}
}

// grantExports lets fn write export zips (SSE-KMS multipart uploads under
// exports/) and read them (the presigned download acts with fn's role).
func (d *dataPlane) grantExports(fn awslambda.Function, write bool) {
	actions := []string{"s3:GetObject"}
	keyActions := []string{"kms:Decrypt"}
	if write {
		actions = append(actions, "s3:PutObject", "s3:AbortMultipartUpload")
		keyActions = append(keyActions, "kms:GenerateDataKey")
	}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: &[]*string{d.bucket.ArnForObjects(jsii.String(privacy.ExportPrefix + "*"))},
	}))
	d.key.Grant(fn, *jsii.Strings(keyActions...)...)
}

// grantErasure lets fn list and delete every object version (a document's
// bytes, an export zip): the erasure and the retention run.
func (d *dataPlane) grantErasure(fn awslambda.Function) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:ListBucket", "s3:ListBucketVersions"),
		Resources: &[]*string{d.bucket.BucketArn()},
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:DeleteObject", "s3:DeleteObjectVersion"),
		Resources: &[]*string{d.bucket.ArnForObjects(jsii.String("*"))},
	}))
}

// newPrivacyWorker runs functions/privacyworker on the export queue and on
// the daily retention rule. It reads documents (their bytes go into
// exports), writes exports, and deletes what retention ends.
func newPrivacyWorker(stack awscdk.Stack, d *dataPlane, props *MatterlyStackProps) awslambda.Function {
	fn := newGoFunction(stack, pascal(fnPrivacyWorker), &awslambda.FunctionProps{
		Description: jsii.String("Matterly privacy worker: streams exports into S3, runs the daily retention schedule"),
		Code:        awslambda.Code_FromAsset(jsii.String(codePath(props.CodeDir, fnPrivacyWorker)), nil),
		// Memory stays flat (one 5 MiB part in flight); more memory is
		// more CPU for deflate.
		MemorySize: jsii.Number(1024),
		Timeout:    awscdk.Duration_Seconds(jsii.Number(privacyWorkerTimeout)),
		Tracing:    awslambda.Tracing_ACTIVE,
		Environment: backgroundEnv(d, map[string]*string{
			config.EnvBucketName: d.bucket.BucketName(),
			config.EnvKMSKeyID:   d.key.KeyArn(),
			// A workspace's deletion hands the calendar's part to the
			// calendar worker (the Microsoft secret and the token key are
			// its, never this function's).
			config.EnvQueueURLs: jsii.String(calendar.Queue + "=" + *d.calendar.queue.QueueUrl()),
		}),
	})
	d.calendar.queue.GrantSendMessages(fn)
	d.grantTable(fn)
	d.signing.GrantRead(fn, nil)
	d.grantDocuments(fn, false)
	d.grantExports(fn, true)
	d.grantErasure(fn)
	d.grantAnchorWrites(fn) // the daily run anchors the audit chains' heads
	fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(d.privacy.exports, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(1), // one export per invocation: its time is the function's
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(2),
	}))
	dlq := awssqs.NewQueue(stack, jsii.String("RetentionFailures"), &awssqs.QueueProps{
		Encryption: awssqs.QueueEncryption_KMS, EncryptionMasterKey: d.key,
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)), EnforceSSL: jsii.Bool(true),
	})
	awsevents.NewRule(stack, jsii.String("RetentionSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Matterly retention: ends legal holds, deletes what outlived the policy, daily"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Hours(jsii.Number(privacy.RetentionEvery.Hours()))),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			RetryAttempts: jsii.Number(2), MaxEventAge: awscdk.Duration_Hours(jsii.Number(6)), DeadLetterQueue: dlq,
		})},
	})
	return fn
}
