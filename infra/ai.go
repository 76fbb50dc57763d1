package main

import (
	"maps"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/matterly/matterly/shared/config"
)

// fnAIWorker (functions/aiworker) summarizes documents too long to answer
// within the request. It serves no route.
const fnAIWorker = "aiworker"

// aiWorkerTimeout leaves the longest document's map-reduce (13 model calls
// of up to a minute each, summaries.MaxChars) room to finish.
const aiWorkerTimeout = 900

// aiPlane is the AI capability's share of the data plane.
type aiPlane struct {
	openai awssecretsmanager.Secret
	queue  awssqs.Queue
}

func newAIPlane(stack awscdk.Stack, key awskms.Key) *aiPlane {
	openai := newProviderSecret(stack, key, "OpenAISecret",
		"API key of OpenAI or the OpenAI-compatible server the AI features use (set it: aws secretsmanager put-secret-value)")
	queue, _ := newWorkQueue(stack, key, "Summaries", 1, 3, aiWorkerTimeout,
		"Summaries the AI worker could not finish: their credits may not have been given back")
	return &aiPlane{openai: openai, queue: queue}
}

// env is what a function that calls the model reads.
func (p *aiPlane) env(props *MatterlyStackProps) map[string]*string {
	env := map[string]*string{config.EnvOpenAISecretARN: p.openai.SecretArn()}
	if props.OpenAIBaseURL != "" {
		env[config.EnvOpenAIBaseURL] = jsii.String(props.OpenAIBaseURL)
	}
	if props.OpenAIModel != "" {
		env[config.EnvOpenAIModel] = jsii.String(props.OpenAIModel)
	}
	return env
}

// newAIWorker runs functions/aiworker on the summaries queue: it reads
// documents (never writes them) and calls the model.
func newAIWorker(stack awscdk.Stack, d *dataPlane, props *MatterlyStackProps) awslambda.Function {
	env := map[string]*string{config.EnvBucketName: d.bucket.BucketName(), config.EnvKMSKeyID: d.key.KeyArn()}
	maps.Copy(env, d.ai.env(props))
	fn := newGoFunction(stack, pascal(fnAIWorker), &awslambda.FunctionProps{
		Description: jsii.String("Matterly AI worker: summarizes long documents (map-reduce over page-marked chunks)"),
		Code:        awslambda.Code_FromAsset(jsii.String(codePath(props.CodeDir, fnAIWorker)), nil),
		MemorySize:  jsii.Number(1024),
		Timeout:     awscdk.Duration_Seconds(jsii.Number(aiWorkerTimeout)),
		Tracing:     awslambda.Tracing_ACTIVE,
		Environment: backgroundEnv(d, env),
	})
	d.grantTable(fn)
	d.signing.GrantRead(fn, nil)
	d.grantDocuments(fn, false)
	d.ai.openai.GrantRead(fn, nil)
	fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(d.ai.queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(1), // one document per invocation: its time is the function's
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(5),
	}))
	return fn
}
