// E-signatures through Dropbox Sign: the API key's secret, the queue of
// signed-file downloads and the worker on it. The esign function (the
// API routes) and the dropboxsignwebhook function (the callback's function
// URL) are route-table functions, built by newFunctions with permsFor.

package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/matterly/matterly/shared/config"
)

// fnESignWorker (functions/esignworker) downloads signed PDFs from
// Dropbox Sign into documents. It serves no route.
const fnESignWorker = "esignworker"

// esignWorkerTimeout covers one download of a signed PDF (the client
// gives up after 45 s) and its store in S3.
const esignWorkerTimeout = 60

// ContextDropboxSignClientID and ContextDropboxSignTestMode configure the
// Dropbox Sign API app (-c dropboxSignClientId=...) and take requests out
// of test mode (-c dropboxSignTestMode=0; test mode otherwise).
const (
	ContextDropboxSignClientID = "dropboxSignClientId"
	ContextDropboxSignTestMode = "dropboxSignTestMode"
)

// esignPlane is the e-signature capability's share of the data plane.
type esignPlane struct {
	secret awssecretsmanager.Secret
	files  awssqs.Queue
}

func newESignPlane(stack awscdk.Stack, key awskms.Key) *esignPlane {
	secret := newProviderSecret(stack, key, "DropboxSignSecret",
		"Dropbox Sign API key; it also keys the callbacks' event hashes (set it: aws secretsmanager put-secret-value)")
	// A download answered 409 (the file is still being prepared) or 5xx
	// comes back after the visibility timeout; after 5 tries it moves to
	// the DLQ, which alarms: a signed file is never lost unseen.
	files, _ := newWorkQueue(stack, key, "ESignFiles", 4, 5, esignWorkerTimeout,
		"Signed PDFs the e-signature worker could not download or store: a signed document is missing from its matter")
	return &esignPlane{secret: secret, files: files}
}

// env is what a function that calls Dropbox Sign or checks its callbacks
// reads.
func (p *esignPlane) env(props *MatterlyStackProps) map[string]*string {
	env := map[string]*string{config.EnvDropboxSignSecretARN: p.secret.SecretArn()}
	if props.DropboxSignClientID != "" {
		env[config.EnvDropboxSignClientID] = jsii.String(props.DropboxSignClientID)
	}
	if props.DropboxSignTestMode != "" {
		env[config.EnvDropboxSignTestMode] = jsii.String(props.DropboxSignTestMode)
	}
	return env
}

// newESignWorker runs functions/esignworker on the signed-file queue: it
// reads the Dropbox Sign key, and writes documents (a signed PDF, SSE-KMS).
func newESignWorker(stack awscdk.Stack, d *dataPlane, props *MatterlyStackProps) awslambda.Function {
	env := map[string]*string{config.EnvTableName: d.table.TableName(), config.EnvBucketName: d.bucket.BucketName(),
		config.EnvKMSKeyID: d.key.KeyArn(), config.EnvLogLevel: jsii.String(logLevel)}
	for k, v := range d.esign.env(props) {
		env[k] = v
	}
	fn := newGoFunction(stack, pascal(fnESignWorker), &awslambda.FunctionProps{
		Description: jsii.String("Matterly e-signature worker: stores each signed PDF once as a document of its matter"),
		Code:        awslambda.Code_FromAsset(jsii.String(codePath(props.CodeDir, fnESignWorker)), nil),
		MemorySize:  jsii.Number(512),
		Timeout:     awscdk.Duration_Seconds(jsii.Number(esignWorkerTimeout)),
		Tracing:     awslambda.Tracing_ACTIVE,
		Environment: &env,
	})
	d.grantTable(fn)
	d.grantDocuments(fn, true)
	d.esign.secret.GrantRead(fn, nil)
	fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(d.esign.files, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(1), // one PDF per invocation: its time is the function's
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(5),
	}))
	return fn
}
