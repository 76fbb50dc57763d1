// Package wsapi posts chat frames to WebSocket connections through the API
// Gateway Management API (PostToConnection): a chat.Pusher. In make dev the
// dev server answers the same API at its own endpoint, so this path is the
// one AWS runs.
package wsapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"

	"github.com/matterly/matterly/shared/chat"
)

// maxIdle covers chat's fan-out workers.
const maxIdle = 32

// Client is the Management API of one WebSocket API stage.
type Client struct {
	api *apigatewaymanagementapi.Client
}

// New returns a client of the stage at endpoint
// (https://{api-id}.execute-api.{region}.amazonaws.com/{stage}), or nil
// when endpoint is "" (no real-time frames).
func New(cfg aws.Config, endpoint string) *Client {
	if endpoint == "" {
		return nil
	}
	// One fan-out posts to many connections of one endpoint at once: keep
	// as many idle connections to it as there are workers (the SDK's
	// default keeps 10, so the rest would dial again every frame).
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConnsPerHost = maxIdle
	})
	return &Client{api: apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.HTTPClient = hc
	})}
}

// Post sends one frame; a connection that is gone (410) is chat.ErrGone.
func (c *Client) Post(ctx context.Context, connectionID string, frame []byte) error {
	_, err := c.api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(connectionID), Data: frame})
	var gone *types.GoneException
	if errors.As(err, &gone) {
		return chat.ErrGone
	}
	return err
}
