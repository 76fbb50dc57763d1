package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/routes"
)

// Values the functions read from their environment: config's defaults,
// spelled out so the template says what the functions run with.
const (
	tokenIssuer   = config.DefaultTokenIssuer
	tokenAudience = config.DefaultTokenAudience
	logLevel      = config.DefaultLogLevel
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
	// DropboxSignClientID is the Dropbox Sign API app; DropboxSignTestMode
	// "0" sends legally binding requests ("" keeps test mode).
	DropboxSignClientID, DropboxSignTestMode string
	// MSClientID and MSTenantID are the Microsoft app registration of
	// calendar sync ("" until registered: the calendar routes answer 503).
	MSClientID, MSTenantID string
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
		{name: fnAIWorker, fn: newAIWorker(stack, d, props)},
		{name: fnESignWorker, fn: newESignWorker(stack, d, props)},
		{name: fnCalendarWorker, fn: newCalendarWorker(stack, d, props, stage.Url(), urls[routes.FnMSGraphWebhook])},
		{name: fnPrivacyWorker, fn: newPrivacyWorker(stack, d, props)}}
	ws := newChatWebSocket(stack, d, props, functionNamed(fns, routes.FnChat))
	background = append(background, function{name: fnChatWS, fn: ws.fn})
	newAlarms(stack, append(fns, background...), r, api)
	suppressNag(stack, d, api, append(fns, background...), r)

	awscdk.NewCfnOutput(stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{
		Value:       stage.Url(),
		Description: jsii.String("Base URL of the app HTTP API"),
	})
	return stack
}

// codeFunctions are every function the stack deploys: one per route-table
// function, and those that serve no route.
func codeFunctions() []string {
	return append(routes.Functions(), fnTokenKey, fnRelay, fnStripeWorker, fnMessageWorker, fnNotifier, fnAIWorker, fnESignWorker, fnChatWS, fnCalendarWorker, fnPrivacyWorker)
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
