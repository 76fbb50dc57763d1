package privacy

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
)

// Invoke is the privacyworker function's handler: an SQS batch of export
// jobs (Handle), or the EventBridge rule of the daily retention run.
func (s *Service) Invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Records    []json.RawMessage `json:"Records"`
		DetailType string            `json:"detail-type"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("privacyworker: unreadable event: %w", err)
	}
	switch {
	case probe.Records != nil:
		var batch events.SQSEvent
		if err := json.Unmarshal(raw, &batch); err != nil {
			return nil, fmt.Errorf("privacyworker: unreadable SQS batch: %w", err)
		}
		return s.Handle(ctx, batch)
	case probe.DetailType == "Scheduled Event":
		return nil, s.RunRetention(ctx)
	}
	return nil, fmt.Errorf("privacyworker: neither an SQS batch nor a scheduled event")
}
