// Command bare is the anchor of make coldstart: an aws-lambda-go function
// with nothing of Matterly's, answering an API Gateway request with 200.
// Built with the functions' own flags, its init is what a Go Lambda costs
// before any code of ours runs; each function's init is reported against
// it.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{}`}, nil
	})
}
