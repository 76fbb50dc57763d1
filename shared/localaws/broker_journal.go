package localaws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// brokerRecord is one line of the broker's journal: a message sent (or,
// in a rewritten file, as it stands), one received, one moved to its
// queue's DLQ, or the id of one deleted (handled).
type brokerRecord struct {
	Send *storedMsg    `json:"send,omitempty"`
	Recv *receiveEntry `json:"recv,omitempty"`
	Dead string        `json:"dead,omitempty"`
	Del  string        `json:"del,omitempty"`
}

type storedMsg struct {
	Queue  string            `json:"queue"`
	ID     string            `json:"id"`
	Body   string            `json:"body"`
	Attrs  map[string]string `json:"attrs,omitempty"`
	SentAt time.Time         `json:"sentAt"`
	// The receives so far, so that "DLQ after MaxReceiveCount receives"
	// holds across restarts, and the first one's time.
	Receives     int       `json:"receives,omitempty"`
	FirstReceive time.Time `json:"firstReceive,omitzero"`
	// Dead: the message is in its queue's DLQ.
	Dead bool `json:"dead,omitempty"`
}

// receiveEntry is one receive of a message: its count after it.
type receiveEntry struct {
	ID       string    `json:"id"`
	Receives int       `json:"n"`
	First    time.Time `json:"first"`
}

// dlqRetention is how long a dead-lettered message is kept after it was
// sent: the DLQs' MessageRetentionPeriod in infra (14 days, SQS's most).
const dlqRetention = 14 * 24 * time.Hour

// brokerJournalMax is the journal size past which the broker rewrites it
// with only the messages still queued.
const brokerJournalMax = 4 << 20

// Persist keeps the broker's queued messages in the file at path until
// they are deleted, as SQS keeps them: a Send returns once its message is
// on disk, and messages still queued when the process stops, however it
// stops, are delivered again by the next broker persisted on the same
// file. Call it after registering the queues and before Run or Drain.
//
// Receive counts are kept (a receive is on disk before its delivery), so a
// message moves to the DLQ after MaxReceiveCount receives however many
// restarts come between; the DLQs are kept too, each message for
// dlqRetention after it was sent. Messages of a queue no longer
// registered are kept in the file but not delivered.
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
		case rec.Recv != nil:
			if m, ok := live[rec.Recv.ID]; ok {
				m.Receives, m.FirstReceive = rec.Recv.Receives, rec.Recv.First
			}
		case rec.Dead != "":
			if m, ok := live[rec.Dead]; ok {
				m.Dead = true
			}
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
		if m.Dead && now.Sub(m.SentAt) > dlqRetention {
			continue
		}
		q, ok := b.queues[m.Queue]
		if !ok {
			b.orphans = append(b.orphans, m)
			continue
		}
		bm := &brokerMsg{id: m.ID, body: m.Body, attrs: m.Attrs, sentAt: m.SentAt, visibleAt: now,
			receives: m.Receives, firstReceive: m.FirstReceive}
		if m.Dead {
			bm.done = true
			q.dlq = append(q.dlq, bm)
		} else {
			q.msgs = append(q.msgs, bm)
		}
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
// per message still queued or dead-lettered, as it stands. Appends wait meanwhile (the caller holds mu),
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
		q := b.queues[name]
		for _, m := range q.msgs {
			if !m.done {
				write(m.stored(name))
			}
		}
		for _, m := range q.dlq {
			sm := m.stored(name)
			sm.Dead = true
			write(sm)
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
// lost to a crash means one more delivery (at least once, as in SQS).
func (b *Broker) journalDelLocked(ids []string) (*journal, uint64) {
	recs := make([]brokerRecord, len(ids))
	for i, id := range ids {
		recs[i] = brokerRecord{Del: id}
	}
	return b.journalLocked(recs)
}

// journalTakeLocked appends what take did: the receives of a batch and
// the moves to the DLQ, returned as journalDelLocked's.
func (b *Broker) journalTakeLocked(received []*brokerMsg, dead []string) (*journal, uint64) {
	recs := make([]brokerRecord, 0, len(received)+len(dead))
	for _, id := range dead {
		recs = append(recs, brokerRecord{Dead: id})
	}
	for _, m := range received {
		recs = append(recs, brokerRecord{Recv: &receiveEntry{ID: m.id, Receives: m.receives, First: m.firstReceive}})
	}
	return b.journalLocked(recs)
}

// journalLocked appends recs. A journal grown past its limit is rewritten
// instead: the new file holds their effect.
func (b *Broker) journalLocked(recs []brokerRecord) (*journal, uint64) {
	if b.wal == nil || len(recs) == 0 {
		return nil, 0
	}
	if b.wal.Size() > brokerJournalMax {
		if err := b.rewriteLocked(); err != nil {
			b.log.Error("broker journal rewrite failed", "err", err)
		}
		return nil, 0
	}
	lines := make([][]byte, len(recs))
	for i, r := range recs {
		line, _ := json.Marshal(r)
		lines[i] = append(line, '\n')
	}
	return b.wal, b.wal.append(lines...)
}

func (m *brokerMsg) stored(queue string) *storedMsg {
	return &storedMsg{Queue: queue, ID: m.id, Body: m.body, Attrs: m.attrs, SentAt: m.sentAt,
		Receives: m.receives, FirstReceive: m.firstReceive}
}
