// Team chat: the Giphy key's secret and the WebSocket API (its stage and
// routes, on functions/chatws). The chat function (the HTTP routes) is a
// route-table function, built by newFunctions with permsFor; here it gets
// the Management API endpoint and the right to post to this API's
// connections, as chatws does: the two functions that fan out.

package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/routes"
)

// fnChatWS (functions/chatws) serves the WebSocket API's routes.
const fnChatWS = routes.FnChatWS

// chatWSStage is the WebSocket API's stage name (part of its URL).
const chatWSStage = "v1"

// chatWSRoutes are the routes API Gateway selects on $request.body.action,
// besides $connect, $disconnect and $default.
var chatWSRoutes = []string{"typing", "read"}

// The typing route's throttle (requests per second and burst), below the
// stage's 100/200.
const (
	chatTypingRate  = 20
	chatTypingBurst = 40
)

// chatPlane is team chat's share of the data plane.
type chatPlane struct {
	giphy awssecretsmanager.Secret
}

func newChatPlane(stack awscdk.Stack, key awskms.Key) *chatPlane {
	return &chatPlane{giphy: newProviderSecret(stack, key, "GiphySecret",
		"Giphy API key for chat GIF search (set it: aws secretsmanager put-secret-value)")}
}

// chatWebSocket is the WebSocket API with its function.
type chatWebSocket struct {
	api   awsapigatewayv2.WebSocketApi
	stage awsapigatewayv2.WebSocketStage
	fn    awslambda.Function
}

// newChatWebSocket builds the WebSocket API: $connect redeems a ticket
// (no authorizer: browsers cannot send a token on a WebSocket, and the
// ticket is the credential), and chat, the HTTP function, posts frames
// to the connections too.
func newChatWebSocket(stack awscdk.Stack, d *dataPlane, props *MatterlyStackProps, chat awslambda.Function) *chatWebSocket {
	env := map[string]*string{config.EnvTableName: d.table.TableName(), config.EnvLogLevel: jsii.String(logLevel)}
	fn := newGoFunction(stack, "Chatws", &awslambda.FunctionProps{
		Description: jsii.String("Matterly chat WebSocket API: connect with a ticket, typing and read frames, fan-out"),
		Code:        awslambda.Code_FromAsset(jsii.String(codePath(props.CodeDir, fnChatWS)), nil),
		MemorySize:  jsii.Number(256),
		Timeout:     awscdk.Duration_Seconds(jsii.Number(10)),
		Tracing:     awslambda.Tracing_ACTIVE,
		Environment: &env,
	})
	d.grantTable(fn)
	integ := awsapigatewayv2integrations.NewWebSocketLambdaIntegration(jsii.String("ChatwsIntegration"), fn, nil)
	route := &awsapigatewayv2.WebSocketRouteOptions{Integration: integ}
	api := awsapigatewayv2.NewWebSocketApi(stack, jsii.String("ChatWebSocketApi"), &awsapigatewayv2.WebSocketApiProps{
		ApiName:                  jsii.String(*stack.StackName() + "-chat"),
		Description:              jsii.String("Matterly team chat: real-time frames"),
		RouteSelectionExpression: jsii.String("$request.body.action"),
		ConnectRouteOptions:      route,
		DisconnectRouteOptions:   route,
		DefaultRouteOptions:      route,
	})
	added := map[string]awsapigatewayv2.WebSocketRoute{}
	for _, key := range chatWSRoutes {
		added[key] = api.AddRoute(jsii.String(key), route)
	}
	stage := awsapigatewayv2.NewWebSocketStage(stack, jsii.String("ChatWebSocketStage"), &awsapigatewayv2.WebSocketStageProps{
		WebSocketApi: api,
		StageName:    jsii.String(chatWSStage),
		AutoDeploy:   jsii.Bool(true),
		Throttle:     &awsapigatewayv2.ThrottleSettings{RateLimit: jsii.Number(100), BurstLimit: jsii.Number(200)},
	})
	// Typing frames come with keystrokes: their route gets a throttle of
	// its own, under the stage's, so a burst of them cannot spend the
	// stage's budget that messages' reads and connects share (chatws also
	// passes one per connection per 2 s). A route setting needs its route
	// deployed first.
	stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetRouteSettings(map[string]any{
		"typing": map[string]any{"ThrottlingRateLimit": chatTypingRate, "ThrottlingBurstLimit": chatTypingBurst},
	})
	stage.Node().AddDependency(added["typing"])
	logs := awslogs.NewLogGroup(stack, jsii.String("ChatWebSocketAccessLogs"), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_MONTH,
	})
	stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: logs.LogGroupArn(),
		Format:         jsii.String(chatWSAccessLogFormat),
	})
	// The functions that fan out post to this stage's connections, and
	// only those: execute-api:ManageConnections on its @connections.
	for _, f := range []awslambda.Function{fn, chat} {
		f.AddEnvironment(jsii.String(config.EnvChatWSEndpoint), stage.CallbackUrl(), nil)
		stage.GrantManagementApiAccess(f)
		suppress(f.Role(), "IAM5", "execute-api:ManageConnections on this WebSocket API's stage's @connections/*: "+
			"connection ids are made by API Gateway at run time; the grant names this API and stage.",
			&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<ChatWebSocketApi[0-9A-F]{8}>\/v1\/\*\/@connections\/\*$/`)})
	}
	suppress(api, "APIG4", "The WebSocket API's $connect redeems a single-use, 60-second ticket bound to its member "+
		"(POST /v1/chat/tickets, an authenticated route): browsers cannot send an Authorization header on a "+
		"WebSocket, and an access token must never travel in a URL. Other routes act only for a connection "+
		"$connect accepted.")
	suppress(d.chat.giphy, "SMG4", "A provider's credential (Giphy): issued and rotated at the provider's dashboard, "+
		"then put here by the operator; no rotation Lambda can mint one.")
	awscdk.NewCfnOutput(stack, jsii.String("ChatWebSocketUrl"), &awscdk.CfnOutputProps{
		Value:       stage.Url(),
		Description: jsii.String("The chat WebSocket URL (wss://...; connect with ?ticket=)"),
	})
	return &chatWebSocket{api: api, stage: stage, fn: fn}
}

// chatWSAccessLogFormat is the WebSocket API's access log line (no
// query string: it carries the ticket).
const chatWSAccessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",` +
	`"requestTime":"$context.requestTime","routeKey":"$context.routeKey","eventType":"$context.eventType",` +
	`"status":"$context.status","connectionId":"$context.connectionId","integrationError":"$context.integrationErrorMessage"}`

// functionNamed is the route-table function called name.
func functionNamed(fns []function, name string) awslambda.Function {
	for _, f := range fns {
		if f.name == name {
			return f.fn
		}
	}
	panic("no function " + name)
}
