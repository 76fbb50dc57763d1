package localaws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// brokerRecord is one line of the broker's journal: a message sent, or
// the id of one deleted (handled, or moved to its DLQ).
type brokerRecord struct {
	Send *storedMsg `json:"send,omitempty"`
	Del  string     `json:"del,omitempty"`
}

type storedMsg struct {
	Queue  string            `json:"queue"`
	ID     string            `json:"id"`
	Body   string            `json:"body"`
	Attrs  map[string]string `json:"attrs,omitempty"`
	SentAt time.Time         `json:"sentAt"`
}

// brokerJournalMax is the journal size past which the broker rewrites it
// with only the messages still queued.
const brokerJournalMax = 4 << 20

// Persist keeps the broker's queued messages in the file at path until
// they are deleted, as SQS keeps them: a Send returns once its message is
// on disk, and messages still queued when the process stops, however it
// stops, are delivered again by the next broker persisted on the same
// file. Call it after registering the queues and before Run or Drain.
//
// Redelivered messages start over: ApproximateReceiveCount counts the
// receives since the restart, and messages of a queue no longer
// registered are kept in the file but not delivered. The DLQ is not kept.
func (b *Broker) Persist(path string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.wal != nil {
		return errors.New("localaws: broker already persisted")
	}
	live := map[string]*storedMsg{}
	var order []string
	err := readJournal(path, func(line []byte) error {
		var rec brokerRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			return err
		}
		switch {
		case rec.Send != nil:
			if _, dup := live[rec.Send.ID]; !dup {
				order = append(order, rec.Send.ID)
			}
			live[rec.Send.ID] = rec.Send
		case rec.Del != "":
			delete(live, rec.Del)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("broker journal: %w", err)
	}
	now := b.clock()
	for _, id := range order {
		m, ok := live[id]
		if !ok {
			continue
		}
		q, ok := b.queues[m.Queue]
		if !ok {
			b.orphans = append(b.orphans, m)
			continue
		}
		q.msgs = append(q.msgs, &brokerMsg{id: m.ID, body: m.Body, attrs: m.Attrs, sentAt: m.SentAt, visibleAt: now})
	}
	b.path = path
	if err := b.rewriteLocked(); err != nil {
		return err
	}
	b.nudge()
	return nil
}

// Close folds the broker's journal into one record per queued message and
// closes it. Messages in flight stay queued: a delivery that ends after
// Close is delivered again after a restart (at least once, as in SQS).
func (b *Broker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.wal == nil {
		return nil
	}
	err := b.rewriteLocked()
	if b.wal != nil {
		err = errors.Join(err, b.wal.close())
	}
	b.wal = nil
	return err
}

// rewriteLocked replaces the journal with a file holding one send record
// per message still queued. Appends wait meanwhile (the caller holds mu),
// and records appended but not yet written are dropped: the new file
// holds their effect.
func (b *Broker) rewriteLocked() error {
	var buf bytes.Buffer
	write := func(m *storedMsg) {
		line, _ := json.Marshal(brokerRecord{Send: m})
		buf.Write(line)
		buf.WriteByte('\n')
	}
	for _, name := range b.sortedQueues() {
		for _, m := range b.queues[name].msgs {
			if !m.done {
				write(m.stored(name))
			}
		}
	}
	for _, m := range b.orphans {
		write(m)
	}
	replace := func() error {
		if err := writeFileAtomic(b.path, buf.Bytes()); err != nil {
			return err
		}
		return syncDir(filepath.Dir(b.path))
	}
	if b.wal == nil {
		if err := replace(); err != nil {
			return fmt.Errorf("broker journal: %w", err)
		}
	} else {
		old := b.wal
		if err := old.reset(replace); err != nil {
			return fmt.Errorf("broker journal: %w", err)
		}
		_ = old.f.Close() // the file renamed over
		b.wal = nil
	}
	wal, err := openJournal(b.path)
	if err != nil {
		return fmt.Errorf("broker journal: %w", err)
	}
	b.wal = wal
	return nil
}

// journalSendLocked appends a sent message; the caller waits for the
// returned sequence number (0: not persisted) before acknowledging.
func (b *Broker) journalSendLocked(queue string, m *brokerMsg) uint64 {
	if b.wal == nil {
		return 0
	}
	line, _ := json.Marshal(brokerRecord{Send: m.stored(queue)})
	return b.wal.append(append(line, '\n'))
}

// journalDelLocked appends deletions and returns what to wait for, after
// unlocking, to have them on disk (a nil journal: nothing). A deletion
// lost to a crash means one more delivery (at least once, as in SQS). A
// journal grown past its limit is rewritten here.
func (b *Broker) journalDelLocked(ids []string) (*journal, uint64) {
	if b.wal == nil || len(ids) == 0 {
		return nil, 0
	}
	if b.wal.Size() > brokerJournalMax {
		if err := b.rewriteLocked(); err != nil {
			b.log.Error("broker journal rewrite failed", "err", err)
		}
		return nil, 0 // the new file holds only what is still queued
	}
	lines := make([][]byte, len(ids))
	for i, id := range ids {
		line, _ := json.Marshal(brokerRecord{Del: id})
		lines[i] = append(line, '\n')
	}
	return b.wal, b.wal.append(lines...)
}

func (m *brokerMsg) stored(queue string) *storedMsg {
	return &storedMsg{Queue: queue, ID: m.id, Body: m.body, Attrs: m.attrs, SentAt: m.sentAt}
}
