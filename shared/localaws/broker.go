package localaws

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/queue"
)

// SQSHandler is a Lambda handler for SQS events with ReportBatchItemFailures.
type SQSHandler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// QueueConfig is a queue's delivery settings; zero fields take the defaults.
type QueueConfig struct {
	// BatchSize is the most messages per handler call (default 10, the
	// event source mapping's default for SQS).
	BatchSize int
	// VisibilityTimeout is how long a received message stays hidden before
	// a failed one is delivered again (default 30s, SQS's default).
	VisibilityTimeout time.Duration
	// MaxReceiveCount is the redrive policy: a message received this many
	// times without success moves to the DLQ (default 5, as in infra).
	MaxReceiveCount int
	// Concurrency is how many batches of this queue Run hands to the
	// handler at once (default 2, so local runs exercise concurrent
	// consumers as Lambda does, without flooding a laptop). Drain delivers
	// one batch at a time.
	Concurrency int
}

func (c QueueConfig) withDefaults() QueueConfig {
	if c.BatchSize <= 0 {
		c.BatchSize = 10
	}
	if c.VisibilityTimeout <= 0 {
		c.VisibilityTimeout = 30 * time.Second
	}
	if c.MaxReceiveCount <= 0 {
		c.MaxReceiveCount = 5
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 2
	}
	return c
}

// BrokerOptions configure a Broker.
type BrokerOptions struct {
	// Now is the clock (time.Now when nil). Drain moves the broker's own
	// view of it forward past visibility timeouts instead of waiting.
	Now func() time.Time
	// Logger receives handler failures and DLQ moves (slog.Default when nil).
	Logger *slog.Logger
}

// Broker is an in-process stand-in for SQS queues and their Lambda event
// source mappings. Messages are delivered in batches of up to BatchSize;
// with ReportBatchItemFailures only the items named in BatchItemFailures
// are retried, a handler error (or panic, or an ItemIdentifier that is not
// in the batch, as Lambda treats it) retries the whole batch; a failed
// message is delivered again once its visibility timeout has passed, and
// after MaxReceiveCount receives it moves to the queue's DLQ.
//
// Messages live in memory, and with Persist also on disk until deleted.
// Use Run (background, real time) or Drain (synchronous, for tests), not
// both at once.
type Broker struct {
	now func() time.Time
	log *slog.Logger

	mu     sync.Mutex
	skew   time.Duration // time Drain has skipped ahead of now()
	queues map[string]*brokerQueue
	wake   chan struct{} // nudges Run after a send or a finished batch

	// With Persist: the journal of sends and deletions, and the messages
	// of queues no longer registered, kept for a later run.
	path    string
	wal     *journal
	orphans []*storedMsg
}

var _ queue.Sender = (*Broker)(nil)

type brokerQueue struct {
	name     string
	handler  SQSHandler
	cfg      QueueConfig
	msgs     []*brokerMsg // not yet deleted or dead-lettered, in send order
	dlq      []*brokerMsg // dead-lettered, in the order they moved
	inFlight int          // batches being handled
}

type brokerMsg struct {
	id           string
	body         string
	attrs        map[string]string
	sentAt       time.Time
	firstReceive time.Time
	receives     int
	visibleAt    time.Time
	inFlight     bool
	done         bool
}

// NewBroker returns a broker with no queues.
func NewBroker(opts BrokerOptions) *Broker {
	b := &Broker{now: opts.Now, log: opts.Logger, queues: map[string]*brokerQueue{}, wake: make(chan struct{}, 1)}
	if b.now == nil {
		b.now = time.Now
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	return b
}

// QueueARN is the EventSourceARN the broker puts on messages of queue.
func QueueARN(queue string) string { return "arn:aws:sqs:local:000000000000:" + queue }

// Register creates queue (a logical name, as in queue.Sender) and its
// consumer. It panics if the queue is already registered: that is a wiring
// mistake, like registering an HTTP route twice.
func (b *Broker) Register(queue string, h SQSHandler, cfg QueueConfig) {
	if h == nil {
		panic("localaws: nil handler for queue " + queue)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, dup := b.queues[queue]; dup {
		panic("localaws: queue " + queue + " registered twice")
	}
	b.queues[queue] = &brokerQueue{name: queue, handler: h, cfg: cfg.withDefaults()}
}

// Send implements queue.Sender. It checks the message as SQS would and
// fails for a queue that is not registered, as SQS fails for a queue that
// does not exist.
func (b *Broker) Send(ctx context.Context, queueName string, body string, attrs map[string]string) error {
	if err := queue.Validate(body, attrs); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	q, ok := b.queues[queueName]
	var wal *journal
	var seq uint64
	if ok {
		now := b.clock()
		m := &brokerMsg{id: newID(), body: body, attrs: cloneMap(attrs), sentAt: now, visibleAt: now}
		q.msgs = append(q.msgs, m)
		wal, seq = b.wal, b.journalSendLocked(queueName, m)
	}
	b.mu.Unlock()
	if !ok {
		return fmt.Errorf("localaws: queue %q is not registered", queueName)
	}
	b.nudge()
	if seq > 0 {
		// Acknowledged only once on disk. A handler may have it already:
		// if this fails, the sender retries and the message comes twice,
		// which SQS allows too.
		return wal.wait(seq)
	}
	return nil
}

// Now is the broker's clock: BrokerOptions.Now plus the time Drain skipped.
func (b *Broker) Now() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.clock()
}

// clock is Now for callers holding mu.
func (b *Broker) clock() time.Time { return b.now().Add(b.skew) }

// DLQ returns the messages of queue's dead-letter queue, oldest first, as
// they were last delivered (ApproximateReceiveCount is MaxReceiveCount).
func (b *Broker) DLQ(queue string) []events.SQSMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	if q, ok := b.queues[queue]; ok {
		out := make([]events.SQSMessage, len(q.dlq))
		for i, m := range q.dlq {
			out[i] = m.event(q.name)
		}
		return out
	}
	return nil
}

// Depth is the number of messages in queue that are neither deleted nor
// dead-lettered: waiting, in flight or waiting out a visibility timeout.
func (b *Broker) Depth(queue string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if q, ok := b.queues[queue]; ok {
		return len(q.msgs)
	}
	return 0
}

// Drain delivers synchronously until no message is left to deliver: every
// message has been deleted or moved to its DLQ. When the only messages
// left are waiting out a visibility timeout, Drain moves the broker's
// clock to the earliest of them instead of sleeping, so tests run in
// microseconds and still see SQS's redelivery order. Handlers may send
// more messages; Drain delivers those too. It returns ctx's error if ctx
// ends first, and nil otherwise: handler failures are part of delivery,
// visible in the DLQ and in what the handlers saw.
func (b *Broker) Drain(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if q, batch := b.take(false); q != nil {
			b.deliver(ctx, q, batch)
			continue
		}
		if !b.skipToNextVisible() {
			return nil
		}
	}
}

// Run delivers in background goroutines, in real time, until ctx ends,
// then waits for the batches in flight. Queues registered after Run starts
// are picked up.
func (b *Broker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		for {
			q, batch := b.take(true)
			if q == nil {
				break
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				b.deliver(ctx, q, batch)
				b.nudge()
			}()
		}
		wait := time.Hour
		if d, ok := b.untilNextVisible(); ok {
			wait = d
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-b.wake:
		case <-timer.C:
		}
	}
}

func (b *Broker) nudge() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// take receives the next batch: the first queue, by name, with a visible
// message (and, with limit, a free concurrency slot). Messages already
// received MaxReceiveCount times move to the DLQ instead, as SQS's redrive
// does when they would be received once more. It returns nil when no
// batch is ready.
func (b *Broker) take(limit bool) (*brokerQueue, []events.SQSMessage) {
	b.mu.Lock()
	var dead []string
	var received []*brokerMsg
	defer func() {
		wal, seq := b.journalTakeLocked(received, dead)
		b.mu.Unlock()
		if seq > 0 {
			// Receives are on disk before the handler sees the batch, so
			// a crash never lets a message be received more than
			// MaxReceiveCount times. Should the write fail, the batch is
			// delivered anyway, as by a broker without Persist.
			_ = wal.wait(seq)
		}
	}()
	now := b.clock()
	for _, name := range b.sortedQueues() {
		q := b.queues[name]
		if limit && q.inFlight >= q.cfg.Concurrency {
			continue
		}
		var batch []events.SQSMessage
		for _, m := range q.msgs {
			if len(batch) == q.cfg.BatchSize {
				break
			}
			if m.inFlight || m.visibleAt.After(now) {
				continue
			}
			if m.receives >= q.cfg.MaxReceiveCount {
				m.done = true
				dead = append(dead, m.id)
				q.dlq = append(q.dlq, m)
				b.log.Error("sqs message moved to DLQ", "queue", q.name, "messageId", m.id, "receives", m.receives)
				continue
			}
			m.receives++
			if m.receives == 1 {
				m.firstReceive = now
			}
			m.inFlight = true
			m.visibleAt = now.Add(q.cfg.VisibilityTimeout)
			received = append(received, m)
			batch = append(batch, m.event(q.name))
		}
		q.compact()
		if len(batch) > 0 {
			q.inFlight++
			return q, batch
		}
	}
	return nil, nil
}

// deliver calls the handler and settles the batch: successes are deleted,
// failures stay hidden until their visibility timeout ends.
func (b *Broker) deliver(ctx context.Context, q *brokerQueue, batch []events.SQSMessage) {
	resp, err := invoke(ctx, q.handler, events.SQSEvent{Records: batch})
	inBatch := make(map[string]bool, len(batch))
	for _, m := range batch {
		inBatch[m.MessageId] = true
	}
	failed := map[string]bool{}
	if err == nil {
		for _, f := range resp.BatchItemFailures {
			if !inBatch[f.ItemIdentifier] {
				// Lambda fails the whole batch on an identifier it cannot
				// match, so a handler bug here cannot lose messages.
				err = fmt.Errorf("batch item failure %q is not a message of the batch", f.ItemIdentifier)
				break
			}
			failed[f.ItemIdentifier] = true
		}
	}
	if err != nil {
		b.log.Warn("sqs batch failed", "queue", q.name, "messages", len(batch), "err", err)
		failed = inBatch
	} else if len(failed) > 0 {
		b.log.Warn("sqs batch items failed", "queue", q.name, "failed", len(failed), "messages", len(batch))
	}

	b.mu.Lock()
	q.inFlight--
	var deleted []string
	for _, m := range q.msgs {
		if !inBatch[m.id] {
			continue
		}
		m.inFlight = false
		if !failed[m.id] {
			m.done = true
			deleted = append(deleted, m.id)
		}
	}
	q.compact()
	wal, seq := b.journalDelLocked(deleted)
	b.mu.Unlock()
	if seq > 0 {
		if err := wal.wait(seq); err != nil {
			b.log.Error("sqs deletion not persisted; the messages will be delivered again after a restart", "queue", q.name, "err", err)
		}
	}
}

// invoke calls h, turning a panic into an error as the Lambda runtime
// turns it into a failed invocation.
func invoke(ctx context.Context, h SQSHandler, ev events.SQSEvent) (resp events.SQSEventResponse, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v\n%s", r, debug.Stack())
		}
	}()
	return h(ctx, ev)
}

// skipToNextVisible moves the clock to the earliest time a waiting message
// becomes visible, reporting false when no message is waiting.
func (b *Broker) skipToNextVisible() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	next, ok := b.nextVisible(false)
	if !ok {
		return false
	}
	if d := next.Sub(b.clock()); d > 0 {
		b.skew += d
	}
	return true
}

// untilNextVisible is how long until Run has a message to deliver. Queues
// with no free concurrency slot are left out: a finished batch nudges Run,
// and counting them would make Run spin while their messages wait.
func (b *Broker) untilNextVisible() (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	next, ok := b.nextVisible(true)
	if !ok {
		return 0, false
	}
	return max(next.Sub(b.clock()), 0), true
}

// nextVisible is the earliest visibleAt among messages not in flight
// (with limit, only in queues with a free concurrency slot).
func (b *Broker) nextVisible(limit bool) (time.Time, bool) {
	var next time.Time
	found := false
	for _, q := range b.queues {
		if limit && q.inFlight >= q.cfg.Concurrency {
			continue
		}
		for _, m := range q.msgs {
			if !m.inFlight && (!found || m.visibleAt.Before(next)) {
				next, found = m.visibleAt, true
			}
		}
	}
	return next, found
}

func (b *Broker) sortedQueues() []string {
	names := make([]string, 0, len(b.queues))
	for n := range b.queues {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (q *brokerQueue) compact() {
	q.msgs = slices.DeleteFunc(q.msgs, func(m *brokerMsg) bool { return m.done })
}

// event is the message as Lambda hands it to the function. Each call
// builds fresh maps so handlers cannot share state with the broker.
func (m *brokerMsg) event(queue string) events.SQSMessage {
	sum := md5.Sum([]byte(m.body))
	ev := events.SQSMessage{
		MessageId:     m.id,
		ReceiptHandle: newID(),
		Body:          m.body,
		Md5OfBody:     hex.EncodeToString(sum[:]),
		Attributes: map[string]string{
			"ApproximateReceiveCount":          strconv.Itoa(m.receives),
			"SentTimestamp":                    strconv.FormatInt(m.sentAt.UnixMilli(), 10),
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.firstReceive.UnixMilli(), 10),
			"SenderId":                         "000000000000",
		},
		EventSourceARN: QueueARN(queue),
		EventSource:    "aws:sqs",
		AWSRegion:      "local",
	}
	if len(m.attrs) > 0 {
		ev.MessageAttributes = make(map[string]events.SQSMessageAttribute, len(m.attrs))
		for k, v := range m.attrs {
			ev.MessageAttributes[k] = events.SQSMessageAttribute{DataType: "String", StringValue: &v}
		}
	}
	return ev
}

// newID returns a random UUID (version 4), the shape of SQS message ids.
func newID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func cloneMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	cp := make(map[string]string, len(m))
	for k, v := range m {
		cp[k] = v
	}
	return cp
}
