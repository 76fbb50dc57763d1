package localaws

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// crashBroker leaves b's file as kill -9 would: nothing saved or flushed
// beyond what was acknowledged.
func crashBroker(b *Broker) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.wal.f.Close()
	b.wal = nil
}

// persisted returns a persisted broker on path with queues "a" and "b",
// recording what "a" is handed; "a" fails the bodies in fail.
func persisted(t *testing.T, path string, fail ...string) (*Broker, *consumer) {
	t.Helper()
	b := newTestBroker(t)
	c := &consumer{b: b, fail: func(body string, _ int) bool { return slices.Contains(fail, body) }}
	b.Register("a", c.handle, QueueConfig{})
	if err := b.Persist(path); err != nil {
		t.Fatal(err)
	}
	return b, c
}

func bodies(c *consumer) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, d := range c.deliveries {
		for _, r := range d.records {
			out = append(out, r.Body)
		}
	}
	slices.Sort(out)
	return out
}

// TestBrokerPersistsUntilDeleted: messages sent and not yet deleted are
// delivered after a crash; deleted ones are not; a queue no longer
// registered keeps its messages for a later run.
func TestBrokerPersistsUntilDeleted(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "queues.jsonl")

	b, _ := persisted(t, path)
	b.Register("gone", handled, QueueConfig{})
	for _, body := range []string{"handled", "failing"} {
		if err := b.Send(ctx, "a", body, map[string]string{"k": "v"}); err != nil {
			t.Fatal(err)
		}
	}
	crashBroker(b) // before any delivery

	b2, c2 := persisted(t, path, "failing")
	if err := b2.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := bodies(c2); !slices.Equal(got, []string{"failing", "failing", "failing", "failing", "failing", "handled"}) {
		t.Fatalf("after the crash delivered %v", got)
	}
	if err := b2.Send(ctx, "a", "queued", nil); err != nil {
		t.Fatal(err)
	}
	crashBroker(b2)

	b3, c3 := persisted(t, path)
	if err := b3.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	// "handled" was deleted and "failing" went to the DLQ: only the one
	// sent after is still queued.
	if got := bodies(c3); !slices.Equal(got, []string{"queued"}) {
		t.Fatalf("after the second crash delivered %v, want [queued]", got)
	}
	if d := c3.deliveries[0].records[0]; d.MessageAttributes != nil {
		t.Errorf("attributes of a message without any: %v", d.MessageAttributes)
	}
	if err := b3.Close(); err != nil {
		t.Fatal(err)
	}
	// Nothing queued: the file holds only the DLQ's message.
	if data, err := os.ReadFile(path); err != nil || bytes.Count(data, []byte("\n")) != 1 || !bytes.Contains(data, []byte(`"body":"failing"`)) ||
		!bytes.Contains(data, []byte(`"dead":true`)) {
		t.Errorf("journal after a clean stop with nothing queued: %q, %v", data, err)
	}
}

// deliverOnce delivers the next batch, waiting out visibility timeouts.
func deliverOnce(t *testing.T, b *Broker) {
	t.Helper()
	b.skipToNextVisible()
	q, batch := b.take(false)
	if q == nil {
		t.Fatal("nothing to deliver")
	}
	b.deliver(context.Background(), q, batch)
}

func dlqOf(b *Broker, queue string) []string {
	var out []string
	for _, m := range b.DLQ(queue) {
		var k string
		if v := m.MessageAttributes["k"].StringValue; v != nil {
			k = *v
		}
		out = append(out, fmt.Sprintf("%s#%d %s", m.Body, receiveCount(m), k))
	}
	return out
}

// TestBrokerPersistsReceivesAndDLQ: a failing message moves to the DLQ
// after MaxReceiveCount receives in all, however many restarts (crashes or
// clean stops) come between, and the DLQ itself survives them, each
// message until dlqRetention after it was sent.
func TestBrokerPersistsReceivesAndDLQ(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		stop func(*Broker)
	}{
		{"crash", crashBroker},
		{"clean stop", func(b *Broker) {
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "queues.jsonl")
			b, c := persisted(t, path, "poison")
			if err := b.Send(ctx, "a", "poison", map[string]string{"k": "v"}); err != nil {
				t.Fatal(err)
			}
			deliverOnce(t, b)
			deliverOnce(t, b)
			tc.stop(b)

			b2, c2 := persisted(t, path, "poison")
			if err := b2.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, cc := range []*consumer{c, c2} {
				got = append(got, cc.bodies()...)
			}
			if want := []string{"poison#1", "poison#2", "poison#3", "poison#4", "poison#5"}; !slices.Equal(got, want) {
				t.Errorf("deliveries across the restart %q, want %q", got, want)
			}
			want := []string{"poison#5 v"}
			if got := dlqOf(b2, "a"); !slices.Equal(got, want) {
				t.Errorf("DLQ %q, want %q", got, want)
			}
			tc.stop(b2)

			b3, c3 := persisted(t, path)
			if err := b3.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if len(c3.deliveries) != 0 {
				t.Errorf("a dead-lettered message delivered again: %q", c3.bodies())
			}
			if got := dlqOf(b3, "a"); !slices.Equal(got, want) {
				t.Errorf("DLQ after a restart %q, want %q", got, want)
			}
			tc.stop(b3)

			late := NewBroker(BrokerOptions{Now: func() time.Time { return t0.Add(dlqRetention + time.Hour) }, Logger: b3.log})
			late.Register("a", handled, QueueConfig{})
			if err := late.Persist(path); err != nil {
				t.Fatal(err)
			}
			if got := late.DLQ("a"); len(got) != 0 {
				t.Errorf("DLQ past its retention: %v", got)
			}
			_ = late.Close()
		})
	}
}

// TestBrokerPersistKeepsAttributesAndUnregisteredQueues: a message comes
// back as it was sent, and one of a queue this run does not register is
// kept for the next.
func TestBrokerPersistKeepsAttributesAndUnregisteredQueues(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "queues.jsonl")
	b := newTestBroker(t)
	b.Register("a", handled, QueueConfig{})
	b.Register("later", handled, QueueConfig{})
	if err := b.Persist(path); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(ctx, "later", "for later", map[string]string{"kind": "x"}); err != nil {
		t.Fatal(err)
	}
	crashBroker(b)

	b2, _ := persisted(t, path) // no "later" queue
	if err := b2.Close(); err != nil {
		t.Fatal(err)
	}

	b3 := newTestBroker(t)
	c3 := &consumer{b: b3}
	b3.Register("later", c3.handle, QueueConfig{})
	if err := b3.Persist(path); err != nil {
		t.Fatal(err)
	}
	if err := b3.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if len(c3.deliveries) != 1 {
		t.Fatalf("deliveries %v", c3.deliveries)
	}
	m := c3.deliveries[0].records[0]
	if m.Body != "for later" || *m.MessageAttributes["kind"].StringValue != "x" {
		t.Errorf("redelivered %q %v", m.Body, m.MessageAttributes)
	}
}

func handled(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return events.SQSEventResponse{}, nil
}
