package localaws

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// StreamHandler is a Lambda function reading the table's stream through an
// event source mapping: it answers the sequence numbers of the records that
// failed (ReportBatchItemFailures).
type StreamHandler func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// stream is the table's DynamoDB stream (NEW_IMAGE view) as the dev stack
// needs it: the items that transactions insert, delivered to one handler.
//
// Known differences from DynamoDB Streams: only items created by
// TransactWriteItems are streamed (no MODIFY or REMOVE records, nothing from
// PutItem), and a write's records are delivered before its caller gets the
// answer, so a test sees their effects at once; in AWS they arrive shortly
// after. A record the handler reports failed is retried twice at once,
// then logged and dropped (in AWS: retried, then sent to the DLQ).
type stream struct {
	mu      sync.Mutex // one batch at a time, in commit order
	handler StreamHandler
	keep    atomic.Pointer[func(map[string]events.DynamoDBAttributeValue) bool]
	log     *slog.Logger
	seq     atomic.Int64
}

// SetStream makes h the target of the table's stream (nil stops it).
func (d *Dynamo) SetStream(h StreamHandler, log *slog.Logger) {
	d.front.stream.mu.Lock()
	defer d.front.stream.mu.Unlock()
	if log == nil {
		log = slog.Default()
	}
	d.front.stream.handler, d.front.stream.log = h, log
}

// SetStreamFilter delivers only the records whose new image keep accepts,
// as an event source mapping's filter does. Records filtered out never wait
// for a batch in progress, so a handler's own writes (the relay's audit
// items) do not wait on the delivery that made them.
func (d *Dynamo) SetStreamFilter(keep func(img map[string]events.DynamoDBAttributeValue) bool) {
	d.front.stream.keep.Store(&keep)
}

// streamAttempts is how often a failed record is delivered before it is dropped.
const streamAttempts = 3

// deliver sends the new items (attribute-value JSON) of one committed
// write to the handler.
func (s *stream) deliver(items []json.RawMessage) {
	if len(items) == 0 {
		return
	}
	keep := s.keep.Load()
	records := make([]events.DynamoDBEventRecord, 0, len(items))
	for _, item := range items {
		rec, err := s.record(item)
		if err != nil {
			slog.Error("local stream: record", "err", err)
			continue
		}
		if keep == nil || (*keep)(rec.Change.NewImage) {
			records = append(records, rec)
		}
	}
	if len(records) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handler == nil {
		return
	}
	for attempt := 1; len(records) > 0; attempt++ {
		resp, err := s.handler(context.Background(), events.DynamoDBEvent{Records: records})
		if err != nil {
			s.log.Error("local stream: handler failed", "attempt", attempt, "err", err)
		}
		failed := records
		if err == nil {
			failed = failedFrom(records, resp)
		}
		if len(failed) == 0 {
			return
		}
		if attempt == streamAttempts {
			s.log.Error("local stream: records dropped after retries", "records", len(failed))
			return
		}
		records = failed
	}
}

// failedFrom returns the records from the first one reported failed: as
// with Lambda, the batch is retried from there.
func failedFrom(records []events.DynamoDBEventRecord, resp events.DynamoDBEventResponse) []events.DynamoDBEventRecord {
	first := -1
	for _, f := range resp.BatchItemFailures {
		for i, r := range records {
			if r.Change.SequenceNumber == f.ItemIdentifier && (first == -1 || i < first) {
				first = i
			}
		}
	}
	if first == -1 {
		return nil
	}
	return records[first:]
}

// record builds an INSERT record of a wire-format item.
func (s *stream) record(raw json.RawMessage) (events.DynamoDBEventRecord, error) {
	var image map[string]events.DynamoDBAttributeValue
	if err := json.Unmarshal(raw, &image); err != nil {
		return events.DynamoDBEventRecord{}, fmt.Errorf("item image: %w", err)
	}
	keys := map[string]events.DynamoDBAttributeValue{}
	for _, k := range []string{"PK", "SK"} {
		if v, ok := image[k]; ok {
			keys[k] = v
		}
	}
	seq := strconv.FormatInt(s.seq.Add(1), 10)
	return events.DynamoDBEventRecord{
		EventID: seq, EventName: "INSERT", EventSource: "aws:dynamodb", EventVersion: "1.1", AWSRegion: "local",
		Change: events.DynamoDBStreamRecord{
			ApproximateCreationDateTime: events.SecondsEpochTime{Time: time.Now()},
			Keys:                        keys, NewImage: image, SequenceNumber: seq, SizeBytes: int64(len(raw)),
			StreamViewType: "NEW_IMAGE",
		},
	}, nil
}
