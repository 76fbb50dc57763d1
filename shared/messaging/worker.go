package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Worker hands queued messages to the providers, each at most once.
type Worker struct {
	svc   *Service
	sms   SMSSender
	email EmailSender
	// Sleep waits between in-process retries (tests replace it).
	Sleep func(context.Context, time.Duration) error
}

// NewWorker builds the queue consumer. sms or email may be nil when that
// channel is not configured: its messages then fail with a clear reason.
func NewWorker(svc *Service, sms SMSSender, email EmailSender) *Worker {
	return &Worker{svc: svc, sms: sms, email: email, Sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Limits of sending.
const (
	// MaxAttempts is how many times a message is handed to its provider
	// before it is marked failed.
	MaxAttempts = 5
	// sendingStale is how long a claim may stand before the message is
	// taken to have died mid-send.
	sendingStale = 2 * time.Minute
	// MinTimeLeft is the time one message may take at worst: three tries
	// of at most 10 seconds and the waits between them. The worker's
	// function timeout must exceed it (infra checks).
	MinTimeLeft = 40 * time.Second
	// tryTime is what one more provider call needs.
	tryTime = 12 * time.Second
	// inProcessTries are the quick retries of a throttled or failing
	// provider call before the message goes back to the queue.
	inProcessTries = 3
)

// Handle processes one SQS batch, reporting the messages to retry
// (ReportBatchItemFailures): the rest of the batch is never sent twice.
func (w *Worker) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for i, rec := range ev.Records {
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < MinTimeLeft {
			// Not enough time for another send and its retries: the rest go
			// back to the queue untouched rather than die mid-send.
			for _, r := range ev.Records[i:] {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
			return resp, nil
		}
		var j job
		if err := json.Unmarshal([]byte(rec.Body), &j); err != nil || j.OrgID == "" || j.MessageID == "" {
			w.svc.Log.Error("unreadable message job dropped", "sqsMessageId", rec.MessageId)
			continue
		}
		if err := w.Process(ctx, j.OrgID, j.MessageID); err != nil {
			w.svc.Log.Warn("message send will be retried", "messageId", j.MessageID, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, nil
}

// errRetry hands a message back to the queue.
var errRetry = errors.New("provider unavailable")

// Process sends one message if it is still queued. It returns an error
// only when the message should be tried again later.
func (w *Worker) Process(ctx context.Context, orgID, id string) error {
	s := w.svc
	// One read for the message, its org and the org's settings.
	var m Message
	msg := &store.KeyOut{PK: tenant.PK(orgID), SK: messageSK(id), Out: &m}
	o, settings, err := s.orgAndSettings(ctx, orgID, msg)
	if err != nil {
		return err
	}
	if !msg.Found {
		return nil
	}
	now := s.Now().UTC()
	switch {
	case m.Status == StatusSending && now.Sub(m.UpdatedAt) > sendingStale:
		// A worker died between claiming and recording: the provider may
		// have the message. It is never sent again (a duplicate text is
		// worse than a missing one); Twilio's status callback corrects it.
		return w.finish(ctx, orgID, &m, StatusFailed, "delivery_unknown", "The sender stopped before recording the result; check the delivery status.", "")
	case m.Status != StatusQueued:
		return nil // sent, failed, or being sent right now: a redelivery
	case m.NotBefore(now):
		return nil // quiet hours: the sweep queues it when they end
	case m.Automated() && quietOf(o, settings).in(now):
		// A reminder retried into quiet hours waits for them to end.
		m.SendAfter = quietOf(o, settings).endAfter(now).UTC()
		return w.finish(ctx, orgID, &m, StatusQueued, "", "", "")
	case m.Attempts >= MaxAttempts:
		return w.finish(ctx, orgID, &m, StatusFailed, "gave_up", "The provider could not be reached after "+strconv.Itoa(MaxAttempts)+" attempts.", "")
	}

	// The claim: queued → sending, in one transaction with the consent
	// check, so a STOP that landed after the message was queued wins.
	claimed := m
	claimed.Status, claimed.Attempts, claimed.UpdatedAt = StatusSending, m.Attempts+1, now
	claimed.setKeys(orgID)
	put, err := s.DB.Put(claimed, store.Unchanged(m.UpdatedAt))
	if err != nil {
		return err
	}
	err = s.DB.Transact(ctx, put, s.notOptedOut(orgID, m.Channel, m.To))
	switch {
	case store.Failed(err, 1):
		return w.finish(ctx, orgID, &m, StatusBlocked, "opted_out", "The recipient opted out before the message was sent.", "")
	case store.Failed(err, 0):
		return nil // another delivery of this job claimed it
	case err != nil:
		return err
	}
	m = claimed

	providerID, err := w.deliver(ctx, orgID, o, settings, m)
	var perm interface{ Permanent() bool }
	var amb interface{ Ambiguous() bool }
	switch {
	case err == nil:
		m.ProviderID, m.SentAt = providerID, s.Now().UTC()
		return w.finish(ctx, orgID, &m, StatusSent, "", "", providerID)
	case errors.As(err, &amb) && amb.Ambiguous():
		// The provider may have it: never sent again (see sendingStale).
		return w.finish(ctx, orgID, &m, StatusFailed, "delivery_unknown", "The provider's answer was lost; check the delivery status.", "")
	case errors.As(err, &perm) && perm.Permanent():
		code := providerCode(err)
		if code != "21610" {
			return w.finish(ctx, orgID, &m, StatusFailed, code, err.Error(), "")
		}
		// Twilio holds a STOP for this number we never saw: the opt-out is
		// recorded with the failed message, so the next send is refused.
		orig := m // finishWrite moves m on; the fallback below starts again from it
		write, err := w.finishWrite(orgID, &m, StatusFailed, code, err.Error(), "")
		if err != nil {
			return err
		}
		change := ConsentChange{Channel: SMS, Address: m.To, State: ConsentOut, Method: MethodProvider,
			ClientID: m.ClientID, MessageID: m.ID, Note: "Twilio refused the number as unsubscribed (error 21610)."}
		if _, err = s.ChangeConsent(ctx, orgID, change, write); err == nil || isDuplicate(err) {
			return nil // recorded, or the message moved on meanwhile
		}
		// The pair did not land (DynamoDB trouble): the message's failure
		// and the opt-out are written one after the other, neither lost.
		if ferr := w.finish(ctx, orgID, &orig, StatusFailed, code, "Twilio refused the number as unsubscribed (error 21610).", ""); ferr != nil {
			return ferr
		}
		_, err = s.ChangeConsent(ctx, orgID, change)
		return err
	default:
		// Back to queued: SQS delivers it again after the visibility timeout.
		if ferr := w.finish(ctx, orgID, &m, StatusQueued, "", "", ""); ferr != nil {
			return ferr
		}
		return errors.Join(errRetry, err)
	}
}

// deliver calls the provider, retrying throttling and server errors a few
// times with exponential backoff (or the provider's Retry-After).
func (w *Worker) deliver(ctx context.Context, orgID string, o org, st Settings, m Message) (string, error) {
	var lastErr error
	for try := 0; try < inProcessTries; try++ {
		if try > 0 {
			if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < tryTime {
				return "", lastErr // the queue retries it later
			}
			wait := time.Duration(200<<(2*(try-1))) * time.Millisecond // 200 ms, 800 ms
			var ra interface{ RetryAfter() time.Duration }
			if errors.As(lastErr, &ra) && ra.RetryAfter() > 0 {
				wait = min(ra.RetryAfter(), 5*time.Second)
			}
			if err := w.Sleep(ctx, wait); err != nil {
				return "", lastErr
			}
		}
		id, err := w.send(ctx, orgID, o, st, m)
		var perm interface{ Permanent() bool }
		var amb interface{ Ambiguous() bool }
		if err == nil || (errors.As(err, &perm) && perm.Permanent()) || (errors.As(err, &amb) && amb.Ambiguous()) {
			return id, err
		}
		lastErr = err
	}
	return "", lastErr
}

func (w *Worker) send(ctx context.Context, orgID string, o org, st Settings, m Message) (string, error) {
	if m.Channel == Email {
		if w.email == nil {
			return "", permanent{"not_configured", "Email is not configured."}
		}
		// The sender is checked again here: a domain may have been deleted
		// (or never verified) since fromEmail was saved.
		from, replyTo, err := w.svc.emailSender(ctx, orgID, st)
		if err != nil {
			return "", err
		}
		if from == "" {
			return "", permanent{"no_sender", "The org's fromEmail is not on a verified domain and no platform address (EMAIL_FROM) is set."}
		}
		return w.email.SendEmail(ctx, OutboundEmail{To: m.To, FromName: o.Name, FromAddress: from, ReplyTo: replyTo,
			Subject: m.Subject, Text: m.Body + w.svc.unsubscribeFooter(orgID, m), UnsubscribeURL: w.svc.UnsubscribeURL(orgID, m.To),
			Tags: map[string]string{"org": orgID, "msg": m.ID}})
	}
	if w.sms == nil {
		return "", permanent{"not_configured", "SMS is not configured."}
	}
	if o.SMSFromNumber == "" && o.TwilioMessagingServiceSID == "" && !w.svc.SandboxSMS {
		return "", permanent{"no_sender", "The org has no SMS number or Messaging Service set."}
	}
	if !w.svc.SandboxSMS {
		ok, err := w.svc.smsSenderAssigned(ctx, orgID, o)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", permanent{"no_sender", "The org's SMS number or Messaging Service was not assigned by the platform; get one with POST /v1/messaging/sms-numbers."}
		}
	}
	return w.sms.SendSMS(ctx, OutboundSMS{To: m.To, From: o.SMSFromNumber, MessagingServiceSID: o.TwilioMessagingServiceSID,
		Body: m.Body, StatusCallback: w.svc.StatusCallbackURL(orgID, m.ID)})
}

// permanent is a failure of ours that retrying cannot fix.
type permanent struct{ code, msg string }

func (p permanent) Error() string        { return p.msg }
func (p permanent) Permanent() bool      { return true }
func (p permanent) ProviderCode() string { return p.code }

// providerCode is the error's provider code (Twilio's 21610), or ours.
func providerCode(err error) string {
	var c interface{ ProviderCode() string }
	if errors.As(err, &c) && c.ProviderCode() != "" {
		return c.ProviderCode()
	}
	return "provider_error"
}

// finish moves a message on, from the version read, to status to,
// recording why. The condition on that version makes it a no-op when
// someone else moved it first.
func (w *Worker) finish(ctx context.Context, orgID string, m *Message, to, code, reason, providerID string) error {
	put, err := w.finishWrite(orgID, m, to, code, reason, providerID)
	if err != nil {
		return err
	}
	if err := w.svc.DB.Transact(ctx, put); err != nil && !store.Failed(err, 0) {
		return err
	}
	return nil
}

// finishWrite is finish's write, for a transaction of the caller's.
func (w *Worker) finishWrite(orgID string, m *Message, to, code, reason, providerID string) (types.TransactWriteItem, error) {
	prev := m.UpdatedAt
	m.Status, m.ErrorCode, m.Error, m.UpdatedAt = to, code, truncate(reason, 300), w.svc.Now().UTC()
	if providerID != "" {
		m.ProviderID = providerID
	}
	m.setKeys(orgID)
	return w.svc.DB.Put(*m, store.Unchanged(prev))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
