package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/queue"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Queue is the queue between the API (and the schedules) and the worker
// that hands messages to Twilio and SES.
const Queue = "messages"

// DefaultMaxSegments is the longest SMS accepted, in billed segments, when
// SMS_MAX_SEGMENTS is not set: ten segments is 1,530 GSM-7 characters.
const DefaultMaxSegments = 10

// Service is the messaging capability's data access.
type Service struct {
	DB    *store.DB
	Log   *slog.Logger
	Now   func() time.Time
	NewID func() string
	Queue queue.Sender
	// SMSReady and EmailReady say a provider (or the dev sandbox) is set
	// up; without one, sends answer 503 saying what to set.
	SMSReady, EmailReady bool
	MaxSegments          int
	// PublicURL is where providers reach Matterly (status callbacks) and
	// clients open unsubscribe links.
	PublicURL string
	// WebhookURL is where Twilio posts delivery statuses (the Twilio
	// webhook's function URL in AWS).
	WebhookURL string
	LinkKey    []byte // signs unsubscribe links
	// EmailFrom is the platform's verified sending address, for orgs that
	// have not set their own.
	EmailFrom string
	// SandboxSMS is make dev's outbox: messages need no sending number.
	SandboxSMS bool
	// Domains, Resolver and Numbers give orgs their own senders (see
	// senders.go); nil Domains or Numbers answer 503. SandboxDomains marks
	// make dev's, which need no DNS records.
	Domains        EmailDomains
	Resolver       TXTResolver
	Numbers        Numbers
	SandboxDomains bool
}

// job is the queue message: ids only, the message itself stays in the table.
type job struct {
	OrgID     string `json:"orgId"`
	MessageID string `json:"messageId"`
}

func newID() string { return ulid.Make().String() }

// org is what messaging reads of the org item.
type org struct {
	tenant.OrgZone
	Name                      string `dynamodbav:"name"`
	SMSSenderName             string `dynamodbav:"smsSenderName"`
	SMSFromNumber             string `dynamodbav:"smsFromNumber"`
	TwilioMessagingServiceSID string `dynamodbav:"twilioMessagingServiceSid"`
}

func (o org) sender() string {
	if o.SMSSenderName != "" {
		return o.SMSSenderName
	}
	return o.Name
}

// orgAndSettings reads the org and its messaging settings (the defaults
// when unsaved) in one call, with any further items of the org's partition
// the caller needs (the worker's message, a case update's matter); their
// Found fields say whether they exist.
func (s *Service) orgAndSettings(ctx context.Context, orgID string, extra ...*store.KeyOut) (org, Settings, error) {
	var o org
	st := DefaultSettings
	pk := tenant.PK(orgID)
	reqs := append(extra, &store.KeyOut{PK: pk, SK: tenant.OrgSK, Out: &o}, &store.KeyOut{PK: pk, SK: settingsSK, Out: &st})
	err := s.DB.BatchGet(ctx, reqs...)
	return o, st, err
}

// settings reads the org's messaging settings, the defaults when unsaved.
func (s *Service) settings(ctx context.Context, orgID string) (Settings, error) {
	st := DefaultSettings
	err := s.DB.Get(ctx, tenant.PK(orgID), settingsSK, &st)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Settings{}, err
	}
	return st, nil
}

// notOptedOut is the transaction item that holds only while address has
// not opted out of channel: the one check every send passes through.
func (s *Service) notOptedOut(orgID, channel, address string) types.TransactWriteItem {
	return s.DB.Check(tenant.PK(orgID), consentSK(channel, address), store.Cond{
		Expr:   "attribute_not_exists(PK) OR #state <> :out",
		Names:  map[string]string{"#state": "state"},
		Values: map[string]types.AttributeValue{":out": store.S(ConsentOut)},
	})
}

// ruleOptedOut is the rule a send to an address that opted out breaks.
const ruleOptedOut = "messaging.opted-out"

// errOptedOut refuses a send to an address that opted out.
func errOptedOut(channel string) error {
	if channel == Email {
		return fault.Refused(ruleOptedOut, "This recipient unsubscribed from email; nothing was sent.")
	}
	return fault.Refused(ruleOptedOut, "This recipient opted out of text messages (replied STOP); nothing was sent. They can reply START to opt back in.")
}

// isOptedOut reports errOptedOut.
func isOptedOut(err error) bool {
	f := fault.As(err)
	return f != nil && f.Rule == ruleOptedOut
}

// enqueue hands a stored message to the worker. A failed send is logged,
// not returned: the message is stored as queued, and the schedule's sweep
// (Requeue) hands it over again within minutes.
func (s *Service) enqueue(ctx context.Context, orgID, messageID string) {
	if s.Queue == nil {
		s.Log.Error("message not queued: no queue configured", "messageId", messageID)
		return
	}
	b, _ := json.Marshal(job{OrgID: orgID, MessageID: messageID})
	if err := s.Queue.Send(ctx, Queue, string(b), nil); err != nil {
		s.Log.Warn("message not queued; the sweep will retry", "messageId", messageID, "err", err)
	}
}
