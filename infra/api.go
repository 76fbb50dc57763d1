// The HTTP API (one route per routes.Table entry) and the function URLs
// of the routes it cannot serve (provider webhooks, streams).

package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/matterly/matterly/shared/routes"
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

	// One integration and one invoke permission per function, shared by
	// all its routes. CDK's HttpLambdaIntegration adds a Lambda permission
	// per route, which took the stack past CloudFormation's 500 resources;
	// a permission per route is no narrower in effect (only this API's
	// routes target the integration), so the permission names the API.
	integrations := map[string]awsapigatewayv2.CfnIntegration{}
	for _, f := range fns {
		if !servesAPI(f.name) {
			continue
		}
		integrations[f.name] = awsapigatewayv2.NewCfnIntegration(api, jsii.String(pascal(f.name)+"Integration"), &awsapigatewayv2.CfnIntegrationProps{
			ApiId:                api.ApiId(),
			IntegrationType:      jsii.String("AWS_PROXY"),
			IntegrationUri:       f.fn.FunctionArn(),
			PayloadFormatVersion: jsii.String("2.0"),
		})
		f.fn.AddPermission(jsii.String("ApiInvoke"), &awslambda.Permission{
			Principal: awsiam.NewServicePrincipal(jsii.String("apigateway.amazonaws.com"), nil),
			Action:    jsii.String("lambda:InvokeFunction"),
			SourceArn: api.ArnForExecuteApi(nil, nil, nil),
		})
	}
	ids := map[string]bool{}
	for _, r := range routes.Table {
		if r.FunctionURL {
			continue // served by the function's own URL (newFunctionURLs)
		}
		integ, ok := integrations[r.Function]
		if !ok {
			panic(fmt.Sprintf("route %s: no function %q", r.Key(), r.Function))
		}
		id := routeID(r)
		if ids[id] {
			panic(fmt.Sprintf("route %s: logical id %s taken", r.Key(), id))
		}
		ids[id] = true
		awsapigatewayv2.NewCfnRoute(api, jsii.String(id), &awsapigatewayv2.CfnRouteProps{
			ApiId:    api.ApiId(),
			RouteKey: jsii.String(string(httpMethod(r)) + " " + r.Path),
			Target:   jsii.String("integrations/" + *integ.Ref()),
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

// servesAPI reports whether function name serves a route of the HTTP API.
func servesAPI(name string) bool {
	for _, r := range routes.ForFunction(name) {
		if !r.FunctionURL {
			return true
		}
	}
	return false
}

// routeID is a route's logical id: "GET /v1/clients/{clientId}" is
// RouteGETV1ClientsClientId.
func routeID(r routes.Route) string {
	var b strings.Builder
	b.WriteString("Route")
	up := true
	for _, c := range r.Method + " " + r.Path {
		switch {
		case c >= 'a' && c <= 'z' && up:
			b.WriteRune(c - 'a' + 'A')
			up = false
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			b.WriteRune(c)
			up = false
		default:
			up = true
		}
	}
	return b.String()
}
