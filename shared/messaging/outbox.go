package messaging

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// Outbox is make dev's sandbox provider: with no Twilio or SES credentials,
// messages are "sent" here, printed, and listed at GET /dev/outbox. Nothing
// leaves the machine.
type Outbox struct {
	mu    sync.Mutex
	items []OutboxItem
	print io.Writer
	now   func() time.Time
}

// OutboxItem is one sandboxed message (API.md's /dev/outbox shape).
type OutboxItem struct {
	ID        string    `json:"id"`
	Channel   string    `json:"channel"`
	To        string    `json:"to"`
	From      string    `json:"from"`
	Subject   string    `json:"subject,omitempty"`
	ReplyTo   string    `json:"replyTo,omitempty"`
	Body      string    `json:"body"`
	Sandbox   bool      `json:"sandbox"`
	CreatedAt time.Time `json:"createdAt"`
}

// NewOutbox prints each message to w (nil for silence).
func NewOutbox(w io.Writer, now func() time.Time) *Outbox {
	if now == nil {
		now = time.Now
	}
	return &Outbox{print: w, now: now}
}

var (
	_ SMSSender   = (*Outbox)(nil)
	_ EmailSender = (*Outbox)(nil)
)

// SendSMS records a text.
func (o *Outbox) SendSMS(_ context.Context, m OutboundSMS) (string, error) {
	from := m.From
	if from == "" {
		from = m.MessagingServiceSID
	}
	return o.add(OutboxItem{Channel: SMS, To: m.To, From: from, Body: m.Body}), nil
}

// SendEmail records an email.
func (o *Outbox) SendEmail(_ context.Context, m OutboundEmail) (string, error) {
	return o.add(OutboxItem{Channel: Email, To: m.To, From: fmt.Sprintf("%s <%s>", m.FromName, m.FromAddress), ReplyTo: m.ReplyTo, Subject: m.Subject, Body: m.Text}), nil
}

func (o *Outbox) add(it OutboxItem) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	it.ID = fmt.Sprintf("SANDBOX%06d", len(o.items)+1)
	it.Sandbox, it.CreatedAt = true, o.now().UTC()
	o.items = append(o.items, it)
	if o.print != nil {
		fmt.Fprintf(o.print, "\n[SANDBOX %s, not sent] to %s from %s\n%s\n\n", it.Channel, it.To, it.From, it.Body)
	}
	return it.ID
}

// Items lists the messages, newest first.
func (o *Outbox) Items() []OutboxItem {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := slices.Clone(o.items)
	slices.Reverse(out)
	if out == nil {
		out = []OutboxItem{}
	}
	return out
}
