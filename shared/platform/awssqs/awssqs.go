// Package awssqs is the queue.Sender of a function in AWS: SQS, at the
// URLs QUEUE_URLS maps the logical queue names to. It is its own package
// so that only the functions that send to queues link the SQS client.
package awssqs

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/queue"
)

// Sender is the function's queue sender: the local broker when Deps has
// one (make dev, tests), SQS in AWS when QUEUE_URLS is set (built once per
// Deps), nil otherwise.
func Sender(d *platform.Deps) queue.Sender {
	if d.Queue != nil {
		return d.Queue
	}
	return platform.InAWS(d, "awssqs", len(d.Config.QueueURLs) > 0, func() queue.Sender {
		return NewSQS(sqs.NewFromConfig(d.AWS), d.Config.QueueURLs)
	})
}

// SendMessageAPI is the part of the SQS client SQS uses; *sqs.Client
// implements it.
type SendMessageAPI interface {
	SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// SQS is the queue.Sender for AWS.
type SQS struct {
	client SendMessageAPI
	urls   map[string]string
}

// NewSQS returns a Sender that sends to the queue URL urls maps each
// logical name to (in a function, built once at init from the
// environment CDK sets). The map is copied.
func NewSQS(client SendMessageAPI, urls map[string]string) *SQS {
	cp := make(map[string]string, len(urls))
	for k, v := range urls {
		cp[k] = v
	}
	return &SQS{client: client, urls: cp}
}

// Send implements queue.Sender. An unknown queue name is an error, not a silent
// drop: it means the function was deployed without that queue's URL.
func (s *SQS) Send(ctx context.Context, name string, body string, attrs map[string]string) error {
	url, ok := s.urls[name]
	if !ok {
		known := make([]string, 0, len(s.urls))
		for k := range s.urls {
			known = append(known, k)
		}
		sort.Strings(known)
		return fmt.Errorf("queue: unknown queue %q (configured: %s)", name, strings.Join(known, ", "))
	}
	if err := queue.Validate(body, attrs); err != nil {
		return err
	}
	in := &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)}
	if len(attrs) > 0 {
		in.MessageAttributes = make(map[string]types.MessageAttributeValue, len(attrs))
		for k, v := range attrs {
			in.MessageAttributes[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	if _, err := s.client.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("queue: send to %s: %w", name, err)
	}
	return nil
}
