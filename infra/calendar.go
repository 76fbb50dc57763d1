// Microsoft 365 calendars: the app registration's client secret, a KMS key
// of their own for the sealed OAuth tokens (only the calendar functions
// may generate or decrypt its data keys), the sync queue and its DLQ, the
// worker on it, the two schedules, and the rule that queues booking events
// for write-back. The calendar function (the API routes) and the
// msgraphwebhook function (the notifications' function URL) are
// route-table functions, built by newFunctions with permsFor.

package main

import (
	"encoding/json"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/matterly/matterly/shared/calendar"
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/routes"
)

// fnCalendarWorker (functions/calendarworker) runs delta syncs,
// subscriptions and booking write-backs, the calendar's part of a
// workspace's deletion (queued by the privacy worker, which has no
// Microsoft secret or token key), and the calendar schedules. It serves
// no route.
const fnCalendarWorker = "calendarworker"

// calendarWorkerTimeout covers one job: a full resync follows many pages
// of up to 100 events, each a Graph call of up to 30 s.
const calendarWorkerTimeout = 120

// ContextMSClientID and ContextMSTenantID name the Microsoft app
// registration (-c msClientId=... -c msTenantId=...; "common" when unset).
const (
	ContextMSClientID = "msClientId"
	ContextMSTenantID = "msTenantId"
)

// calendarPlane is the calendar capability's share of the data plane.
type calendarPlane struct {
	secret   awssecretsmanager.Secret
	tokenKey awskms.Key // data keys of the sealed OAuth tokens
	queue    awssqs.Queue
}

func newCalendarPlane(stack awscdk.Stack, key awskms.Key) *calendarPlane {
	secret := newProviderSecret(stack, key, "MicrosoftClientSecret",
		"Microsoft app registration client secret for calendar sync (set it: aws secretsmanager put-secret-value)")
	tokenKey := awskms.NewKey(stack, jsii.String("CalendarTokenKey"), &awskms.KeyProps{
		Description:       jsii.String("Matterly: data keys of the sealed Microsoft OAuth tokens (envelope encryption)"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	// A job that fails (Graph down, throttled past its Retry-After) comes
	// back after the visibility timeout; after 5 tries it moves to the
	// DLQ, which alarms. The 15-minute schedule catches a calendar up anyway.
	queue, _ := newWorkQueue(stack, key, "CalendarSync", 1, 5, calendarWorkerTimeout,
		"Calendar jobs (syncs, subscriptions, booking write-backs) that failed 5 times: a calendar or an Outlook copy of a booking may be stale")
	return &calendarPlane{secret: secret, tokenKey: tokenKey, queue: queue}
}

// grantTokens lets fn seal and open tokens: GenerateDataKey and Decrypt on
// the token key, and nothing else; KMS_KEY_ID names that key for it.
func (p *calendarPlane) grantTokens(fn awslambda.Function) {
	p.tokenKey.Grant(fn, jsii.String("kms:GenerateDataKey"), jsii.String("kms:Decrypt"))
	fn.AddEnvironment(jsii.String(config.EnvKMSKeyID), p.tokenKey.KeyArn(), nil)
}

// env is what a function that calls Microsoft reads.
func (p *calendarPlane) env(props *MatterlyStackProps) map[string]*string {
	env := map[string]*string{config.EnvMSClientSecretARN: p.secret.SecretArn()}
	if props.MSClientID != "" {
		env[config.EnvMSClientID] = jsii.String(props.MSClientID)
	}
	if props.MSTenantID != "" {
		env[config.EnvMSTenantID] = jsii.String(props.MSTenantID)
	}
	if len(props.CorsOrigins) > 0 {
		// The browser lands on the web app after the connect.
		env[config.EnvAppBaseURL] = jsii.String(props.CorsOrigins[0])
	}
	return env
}

// equipCalendar gives the calendar function the API's address, its OAuth
// callback's (PUBLIC_BASE_URL): the route functions are built before the
// API, so it is found by its construct id.
func equipCalendar(stack awscdk.Stack, apiURL *string) {
	fn, ok := stack.Node().TryFindChild(jsii.String(pascal(routes.FnCalendar) + "Function")).(awslambda.Function)
	if !ok {
		panic("infra: the calendar function must be built before the calendar worker")
	}
	fn.AddEnvironment(jsii.String(config.EnvPublicBaseURL), apiURL, nil)
}

// newCalendarWorker runs functions/calendarworker on the sync queue and on
// the two schedules; booking events reach it through the queue.
// webhookURL is the msgraphwebhook function URL, where subscriptions send
// notifications.
func newCalendarWorker(stack awscdk.Stack, d *dataPlane, props *MatterlyStackProps, apiURL, webhookURL *string) awslambda.Function {
	equipCalendar(stack, apiURL)
	env := map[string]*string{
		config.EnvTableName:              d.table.TableName(),
		config.EnvLogLevel:               jsii.String(logLevel),
		config.EnvQueueURLs:              jsii.String(calendar.Queue + "=" + *d.calendar.queue.QueueUrl()),
		config.EnvMSGraphNotificationURL: awscdk.Fn_Join(jsii.String(""), &[]*string{webhookURL, jsii.String("webhooks/microsoft-graph")}),
		config.EnvPublicBaseURL:          apiURL,
	}
	for k, v := range d.calendar.env(props) {
		env[k] = v
	}
	fn := newGoFunction(stack, pascal(fnCalendarWorker), &awslambda.FunctionProps{
		Description: jsii.String("Matterly calendar worker: Microsoft 365 delta syncs, subscriptions and booking write-backs"),
		Code:        awslambda.Code_FromAsset(jsii.String(codePath(props.CodeDir, fnCalendarWorker)), nil),
		MemorySize:  jsii.Number(256),
		Timeout:     awscdk.Duration_Seconds(jsii.Number(calendarWorkerTimeout)),
		Tracing:     awslambda.Tracing_ACTIVE,
		Environment: &env, // no signing secret: the worker signs nothing
	})
	d.grantTable(fn)
	d.calendar.secret.GrantRead(fn, nil)
	d.calendar.grantTokens(fn)
	d.calendar.queue.GrantSendMessages(fn) // the schedules fan out through it
	fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(d.calendar.queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(5),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(10),
	}))
	schedule := func(id, name, desc string, every float64) {
		input, _ := json.Marshal(map[string]string{"schedule": name})
		awsevents.NewRule(stack, jsii.String(id), &awsevents.RuleProps{
			Description: jsii.String(desc),
			Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(every))),
			Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
				Event:         awsevents.RuleTargetInput_FromText(jsii.String(string(input))),
				RetryAttempts: jsii.Number(4),
			})},
		})
	}
	schedule("CalendarRenewals", calendar.ScheduleRenew, "Matterly calendar: renew Graph subscriptions before they expire", calendar.RenewEvery.Minutes())
	schedule("CalendarSafetyNet", calendar.ScheduleSync, "Matterly calendar: one delta sync per connected calendar, every 15 minutes", calendar.SyncEvery.Minutes())
	// Bookings created, changed or canceled in Matterly are written to
	// their members' Outlook, and a removed member's calendar data is
	// erased: EventBridge queues the events for the worker.
	awsevents.NewRule(stack, jsii.String("CalendarBookings"), &awsevents.RuleProps{
		Description:  jsii.String("Booking changes written back to Microsoft 365 calendars"),
		EventBus:     d.events,
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings("matterly"), DetailType: jsii.Strings(calendar.Events...)},
		Targets:      &[]awsevents.IRuleTarget{awseventstargets.NewSqsQueue(d.calendar.queue, nil)},
	})
	return fn
}
