package localaws

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// newTestBroker returns a broker on a frozen clock: only Drain moves it,
// so every time a test sees comes from the visibility timeouts.
func newTestBroker(t *testing.T) *Broker {
	t.Helper()
	return NewBroker(BrokerOptions{
		Now:    func() time.Time { return t0 },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

// delivery is one handler call as the handler saw it.
type delivery struct {
	at      time.Time
	records []events.SQSMessage
}

// consumer records deliveries and fails messages as told by fail, which
// gets the body and its receive count.
type consumer struct {
	b    *Broker
	fail func(body string, receive int) bool

	mu         sync.Mutex
	deliveries []delivery
}

func (c *consumer) handle(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	c.mu.Lock()
	c.deliveries = append(c.deliveries, delivery{at: c.b.Now(), records: ev.Records})
	c.mu.Unlock()
	var resp events.SQSEventResponse
	for _, r := range ev.Records {
		if c.fail != nil && c.fail(r.Body, receiveCount(r)) {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
	}
	return resp, nil
}

// bodies lists each delivery's bodies with their receive counts, e.g.
// "a#1 b#1".
func (c *consumer) bodies() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, d := range c.deliveries {
		var parts []string
		for _, r := range d.records {
			parts = append(parts, fmt.Sprintf("%s#%d", r.Body, receiveCount(r)))
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

func receiveCount(r events.SQSMessage) int {
	var n int
	fmt.Sscan(r.Attributes["ApproximateReceiveCount"], &n)
	return n
}

func send(t *testing.T, b *Broker, queue string, bodies ...string) {
	t.Helper()
	for _, body := range bodies {
		if err := b.Send(context.Background(), queue, body, nil); err != nil {
			t.Fatalf("Send %q: %v", body, err)
		}
	}
}

func drain(t *testing.T, b *Broker) {
	t.Helper()
	if err := b.Drain(context.Background()); err != nil {
		t.Fatalf("Drain: %v", err)
	}
}

func TestBrokerMessageShape(t *testing.T) {
	b := newTestBroker(t)
	c := &consumer{b: b}
	b.Register("sms-outbound", c.handle, QueueConfig{})
	if err := b.Send(context.Background(), "sms-outbound", `{"to":"+15550100"}`, map[string]string{"orgId": "01H"}); err != nil {
		t.Fatal(err)
	}
	drain(t, b)
	if len(c.deliveries) != 1 || len(c.deliveries[0].records) != 1 {
		t.Fatalf("deliveries: %v", c.bodies())
	}
	m := c.deliveries[0].records[0]
	sum := md5.Sum([]byte(m.Body))
	checks := []struct{ name, got, want string }{
		{"body", m.Body, `{"to":"+15550100"}`},
		{"md5", m.Md5OfBody, hex.EncodeToString(sum[:])},
		{"arn", m.EventSourceARN, "arn:aws:sqs:local:000000000000:sms-outbound"},
		{"source", m.EventSource, "aws:sqs"},
		{"receive count", m.Attributes["ApproximateReceiveCount"], "1"},
		{"sent", m.Attributes["SentTimestamp"], fmt.Sprint(t0.UnixMilli())},
		{"first receive", m.Attributes["ApproximateFirstReceiveTimestamp"], fmt.Sprint(t0.UnixMilli())},
		{"attr type", m.MessageAttributes["orgId"].DataType, "String"},
		{"attr value", *m.MessageAttributes["orgId"].StringValue, "01H"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %q, want %q", ck.name, ck.got, ck.want)
		}
	}
	if len(m.MessageId) != 36 || m.ReceiptHandle == "" {
		t.Errorf("MessageId %q, ReceiptHandle %q", m.MessageId, m.ReceiptHandle)
	}
	if d := b.Depth("sms-outbound"); d != 0 {
		t.Errorf("Depth = %d after success", d)
	}
}

func TestBrokerDelivery(t *testing.T) {
	const vt = 30 * time.Second
	many := make([]string, 25)
	for i := range many {
		many[i] = fmt.Sprintf("m%02d", i)
	}
	tests := []struct {
		name      string
		cfg       QueueConfig
		send      []string
		fail      func(body string, receive int) bool
		want      []string      // each delivery's bodies with receive counts
		wantGaps  time.Duration // time between deliveries after the first
		wantDLQ   []string
		wantCalls int // when want is nil: just the number of deliveries
	}{
		{
			name: "one batch", send: []string{"a", "b", "c"},
			want: []string{"a#1 b#1 c#1"},
		},
		{
			name: "batch size", cfg: QueueConfig{BatchSize: 10}, send: many, wantCalls: 3,
		},
		{
			name: "partial failure retries only the failed item", cfg: QueueConfig{VisibilityTimeout: vt},
			send: []string{"a", "b", "c"},
			fail: func(body string, receive int) bool { return body == "b" && receive == 1 },
			want: []string{"a#1 b#1 c#1", "b#2"}, wantGaps: vt,
		},
		{
			name: "two failures, redelivered together", cfg: QueueConfig{VisibilityTimeout: vt},
			send: []string{"a", "b", "c"},
			fail: func(body string, receive int) bool { return body != "b" && receive < 3 },
			want: []string{"a#1 b#1 c#1", "a#2 c#2", "a#3 c#3"}, wantGaps: vt,
		},
		{
			name: "DLQ after five receives", cfg: QueueConfig{VisibilityTimeout: vt},
			send: []string{"poison", "ok"},
			fail: func(body string, _ int) bool { return body == "poison" },
			want: []string{"poison#1 ok#1", "poison#2", "poison#3", "poison#4", "poison#5"}, wantGaps: vt,
			wantDLQ: []string{"poison#5"},
		},
		{
			name: "max receive count", cfg: QueueConfig{VisibilityTimeout: vt, MaxReceiveCount: 2},
			send: []string{"poison"},
			fail: func(string, int) bool { return true },
			want: []string{"poison#1", "poison#2"}, wantGaps: vt, wantDLQ: []string{"poison#2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBroker(t)
			c := &consumer{b: b, fail: tt.fail}
			b.Register("q", c.handle, tt.cfg)
			send(t, b, "q", tt.send...)
			drain(t, b)
			if tt.want != nil && !slices.Equal(c.bodies(), tt.want) {
				t.Errorf("deliveries = %q, want %q", c.bodies(), tt.want)
			}
			if tt.want == nil && len(c.deliveries) != tt.wantCalls {
				t.Errorf("%d deliveries, want %d", len(c.deliveries), tt.wantCalls)
			}
			for i := 1; i < len(c.deliveries) && tt.wantGaps > 0; i++ {
				if gap := c.deliveries[i].at.Sub(c.deliveries[i-1].at); gap != tt.wantGaps {
					t.Errorf("delivery %d came %v after the one before, want the visibility timeout %v", i, gap, tt.wantGaps)
				}
			}
			var dlq []string
			for _, m := range b.DLQ("q") {
				dlq = append(dlq, fmt.Sprintf("%s#%d", m.Body, receiveCount(m)))
			}
			if !slices.Equal(dlq, tt.wantDLQ) {
				t.Errorf("DLQ = %q, want %q", dlq, tt.wantDLQ)
			}
			if d := b.Depth("q"); d != 0 {
				t.Errorf("Depth = %d after Drain", d)
			}
		})
	}
}

// A handler that fails as a whole (error, panic, or a failure id that is
// not in the batch, which Lambda treats the same way) gets every message
// of the batch again.
func TestBrokerWholeBatchFailure(t *testing.T) {
	tests := []struct {
		name string
		fail func(ev events.SQSEvent) (events.SQSEventResponse, error)
	}{
		{name: "error", fail: func(events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{}, errors.New("database down")
		}},
		{name: "panic", fail: func(events.SQSEvent) (events.SQSEventResponse, error) { panic("nil map") }},
		{name: "unknown item identifier", fail: func(events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "not-a-message"}}}, nil
		}},
		{name: "empty item identifier", fail: func(events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{}}}, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBroker(t)
			var got []string
			calls := 0
			b.Register("q", func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				calls++
				for _, r := range ev.Records {
					got = append(got, fmt.Sprintf("%s#%d", r.Body, receiveCount(r)))
				}
				if calls == 1 {
					return tt.fail(ev)
				}
				return events.SQSEventResponse{}, nil
			}, QueueConfig{})
			send(t, b, "q", "a", "b")
			drain(t, b)
			if want := []string{"a#1", "b#1", "a#2", "b#2"}; !slices.Equal(got, want) {
				t.Errorf("deliveries = %q, want %q", got, want)
			}
		})
	}
}

func TestBrokerHandlerSendsDuringDrain(t *testing.T) {
	b := newTestBroker(t)
	var got []string
	b.Register("inbound", func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		for _, r := range ev.Records {
			if err := b.Send(ctx, "outbound", "reply to "+r.Body, nil); err != nil {
				return events.SQSEventResponse{}, err
			}
		}
		return events.SQSEventResponse{}, nil
	}, QueueConfig{})
	b.Register("outbound", func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		for _, r := range ev.Records {
			got = append(got, r.Body)
		}
		return events.SQSEventResponse{}, nil
	}, QueueConfig{})
	send(t, b, "inbound", "hi")
	drain(t, b)
	if want := []string{"reply to hi"}; !slices.Equal(got, want) {
		t.Errorf("outbound got %q, want %q", got, want)
	}
}

func TestBrokerSendErrors(t *testing.T) {
	b := newTestBroker(t)
	b.Register("q", (&consumer{b: b}).handle, QueueConfig{})
	tests := []struct {
		name  string
		queue string
		body  string
		attrs map[string]string
		want  string
	}{
		{name: "unknown queue", queue: "nope", body: "x", want: "not registered"},
		{name: "empty body", queue: "q", body: "", want: "empty"},
		{name: "empty attribute", queue: "q", body: "x", attrs: map[string]string{"k": ""}, want: "empty"},
		{name: "reserved attribute name", queue: "q", body: "x", attrs: map[string]string{"AWS.trace": "1"}, want: "invalid"},
		{name: "too big", queue: "q", body: strings.Repeat("x", 256*1024+1), want: "at most"},
		{name: "bad character", queue: "q", body: "nul\x00", want: "characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b.Send(context.Background(), tt.queue, tt.body, tt.attrs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
	if d := b.Depth("q"); d != 0 {
		t.Errorf("rejected messages were queued: Depth %d", d)
	}
}

func TestBrokerRegisterTwicePanics(t *testing.T) {
	b := newTestBroker(t)
	h := (&consumer{b: b}).handle
	b.Register("q", h, QueueConfig{})
	defer func() {
		if recover() == nil {
			t.Error("second Register did not panic")
		}
	}()
	b.Register("q", h, QueueConfig{})
}

func TestBrokerDrainStopsWithContext(t *testing.T) {
	b := newTestBroker(t)
	b.Register("q", (&consumer{b: b}).handle, QueueConfig{})
	send(t, b, "q", "a")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Drain(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Drain = %v, want context.Canceled", err)
	}
}

// Run delivers in the background, in real time: a failure comes back
// after its (here tiny) visibility timeout, and no more batches of a queue
// run at once than its Concurrency allows. The test waits on channels,
// never on a clock.
func TestBrokerRun(t *testing.T) {
	b := NewBroker(BrokerOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var inFlight, maxInFlight atomic.Int32
	release := make(chan struct{})
	done := make(chan string, 10)
	b.Register("q", func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		r := ev.Records[0]
		if r.Body == "flaky" && receiveCount(r) == 1 {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: r.MessageId}}}, nil
		}
		<-release
		done <- fmt.Sprintf("%s#%d", r.Body, receiveCount(r))
		return events.SQSEventResponse{}, nil
	}, QueueConfig{BatchSize: 1, Concurrency: 2, VisibilityTimeout: time.Millisecond})

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { b.Run(ctx); close(stopped) }()
	send(t, b, "q", "a", "flaky", "b", "c")

	var got []string
	deadline := time.After(10 * time.Second) // a hang guard, not a timing assumption
	for len(got) < 4 {
		select {
		case release <- struct{}{}:
		case s := <-done:
			got = append(got, s)
		case <-deadline:
			t.Fatalf("only %q delivered", got)
		}
	}
	cancel()
	<-stopped
	slices.Sort(got)
	if want := []string{"a#1", "b#1", "c#1", "flaky#2"}; !slices.Equal(got, want) {
		t.Errorf("delivered %q, want %q", got, want)
	}
	if m := maxInFlight.Load(); m > 2 {
		t.Errorf("%d batches in flight at once, Concurrency is 2", m)
	}
	if d := b.Depth("q"); d != 0 {
		t.Errorf("Depth = %d", d)
	}
}
