// Alarms: every function's errors and throttles, the API's 5xx, the relay.

package main

import (
	"fmt"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/jsii-runtime-go"
)

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
	// A batch the relay gave up on: its audit entries and events are missing.
	r.dlq.MetricApproximateNumberOfMessagesVisible(fiveMinuteMax).CreateAlarm(stack,
		jsii.String("RelayFailuresAlarm"), atLeastOne("Relay gave up on stream records: audit entries not appended, domain events not published"))
	// Events are late: a record reached the relay a minute or more after it
	// was written.
	iteratorAge := atLeastOne("Relay is behind the table stream (iterator age at least 60 s)")
	iteratorAge.Threshold = jsii.Number(60_000)
	r.fn.Metric(jsii.String("IteratorAge"), fiveMinuteMax).CreateAlarm(stack,
		jsii.String(pascal(fnRelay)+"IteratorAgeAlarm"), iteratorAge)
}
