package messaging

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// SMSInput is POST /v1/messages/sms.
type SMSInput struct {
	ClientID string `json:"clientId"`
	MatterID string `json:"matterId"`
	Body     string `json:"body"`
	Kind     string `json:"kind"`
}

// EmailInput is POST /v1/messages/email.
type EmailInput struct {
	ClientID string `json:"clientId"`
	MatterID string `json:"matterId"`
	Subject  string `json:"subject"`
	Body     string `json:"body"`
	Kind     string `json:"kind"`
}

// maxEmailBody bounds an email's text (plain text, no attachments).
const maxEmailBody = 20000

var errNoSMS = &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Hour,
	Message: "SMS is not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (the Twilio secret in AWS)."}
var errNoEmail = &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Hour,
	Message: "Email is not configured: set the SES sending address (fromEmail in /v1/messaging/settings) and SES access."}

// SendSMS stores a text to a client as queued and hands it to the worker.
// It is refused with 409 when the client's number opted out; the consent
// check is part of the transaction that stores the message.
func (s *Service) SendSMS(ctx context.Context, a caller.Caller, in SMSInput) (Message, error) {
	if !s.SMSReady {
		return Message{}, errNoSMS
	}
	var ck fault.Checker
	ck.Check(slices.Contains(Kinds, in.Kind), "kind", "must be one of "+strings.Join(Kinds, ", "))
	check.Text(&ck, "body", strings.TrimSpace(in.Body), true, 1600, true)
	ck.Check(check.ID(in.ClientID), "clientId", "is required")
	ck.Check(in.MatterID == "" || check.ID(in.MatterID), "matterId", "is not an id")
	if err := ck.Err(); err != nil {
		return Message{}, err
	}
	client, o, err := s.recipient(ctx, a.OrgID, in.ClientID, in.MatterID)
	if err != nil {
		return Message{}, err
	}
	if client.Phone == "" {
		return Message{}, fault.Fields(fault.FieldError{Field: "clientId", Message: "the client has no phone number"})
	}
	m, err := s.newSMS(o, client.Phone, in.Body)
	if err != nil {
		return Message{}, err
	}
	m.Kind, m.ClientID, m.MatterID, m.SentBy = in.Kind, client.ID, in.MatterID, a.UserID
	return m, s.store(ctx, &a, a.OrgID, &m)
}

// newSMS builds an outbound SMS: the body prefixed with the org's sender
// name, measured, and refused when longer than the configured limit.
func (s *Service) newSMS(o org, to, body string) (Message, error) {
	body = Prefixed(o.sender(), body)
	seg := SegmentsOf(body)
	if max := s.maxSegments(); seg.Count > max {
		return Message{}, fault.Fields(fault.FieldError{Field: "body", Message: "is " + strconv.Itoa(seg.Count) + " SMS segments (" +
			seg.Encoding + ", " + strconv.Itoa(seg.Units) + " characters with the sender name); the limit is " + strconv.Itoa(max)})
	}
	return Message{Channel: SMS, Direction: Outbound, To: to, From: o.SMSFromNumber, Body: body, Segments: &seg}, nil
}

func (s *Service) maxSegments() int {
	if s.MaxSegments > 0 {
		return s.MaxSegments
	}
	return DefaultMaxSegments
}

// SendEmail stores an email to a client as queued and hands it to the worker.
func (s *Service) SendEmail(ctx context.Context, a caller.Caller, in EmailInput) (Message, error) {
	if !s.EmailReady {
		return Message{}, errNoEmail
	}
	in.Subject = strings.TrimSpace(in.Subject)
	var ck fault.Checker
	ck.Check(slices.Contains(Kinds, in.Kind), "kind", "must be one of "+strings.Join(Kinds, ", "))
	check.Text(&ck, "subject", in.Subject, true, 200)
	check.Text(&ck, "body", strings.TrimSpace(in.Body), true, maxEmailBody, true)
	ck.Check(check.ID(in.ClientID), "clientId", "is required")
	ck.Check(in.MatterID == "" || check.ID(in.MatterID), "matterId", "is not an id")
	if err := ck.Err(); err != nil {
		return Message{}, err
	}
	client, _, err := s.recipient(ctx, a.OrgID, in.ClientID, in.MatterID)
	if err != nil {
		return Message{}, err
	}
	if s.EmailFrom == "" {
		// No platform sender: the org must have its own, or nothing could go.
		st, err := s.settings(ctx, a.OrgID)
		if err != nil {
			return Message{}, err
		}
		if st.FromEmail == "" {
			return Message{}, errNoEmail
		}
	}
	if client.Email == "" {
		return Message{}, fault.Fields(fault.FieldError{Field: "clientId", Message: "the client has no email address"})
	}
	m := Message{Channel: Email, Direction: Outbound, Kind: in.Kind, ClientID: client.ID, MatterID: in.MatterID,
		To: normalEmail(client.Email), Subject: in.Subject, Body: strings.TrimSpace(in.Body), SentBy: a.UserID}
	return m, s.store(ctx, &a, a.OrgID, &m)
}

// recipient reads the client, the org and (when named) checks the matter
// is the client's.
func (s *Service) recipient(ctx context.Context, orgID, clientID, matterID string) (crm.Client, org, error) {
	var c crm.Client
	var o org
	var mt struct {
		ClientID string `dynamodbav:"clientId"`
	}
	pk := tenant.PK(orgID)
	reqs := []*store.KeyOut{{PK: pk, SK: crm.ClientSK(clientID), Out: &c}, {PK: pk, SK: tenant.OrgSK, Out: &o}}
	if matterID != "" {
		reqs = append(reqs, &store.KeyOut{PK: pk, SK: crm.MatterSK(matterID), Out: &mt})
	}
	if err := s.DB.BatchGet(ctx, reqs...); err != nil {
		return c, o, err
	}
	if !reqs[0].Found {
		return c, o, fault.E(fault.NotFound, "No such client.")
	}
	if matterID != "" && (!reqs[2].Found || mt.ClientID != clientID) {
		return c, o, fault.Fields(fault.FieldError{Field: "matterId", Message: "is not a matter of this client"})
	}
	return c, o, c.Processable()
}

// store writes a new outbound message as queued, with the consent check,
// and queues it. a is the member who sent it (their role is checked in the
// same transaction and the send is logged); nil for the schedules' messages.
func (s *Service) store(ctx context.Context, a *caller.Caller, orgID string, m *Message, extra ...types.TransactWriteItem) error {
	now := s.Now().UTC()
	m.ID, m.Status, m.CreatedAt, m.UpdatedAt = s.NewID(), StatusQueued, now, now
	m.setKeys(orgID)
	put, err := s.DB.Put(*m, store.NotExists())
	if err != nil {
		return err
	}
	items := append([]types.TransactWriteItem{put, s.notOptedOut(orgID, m.Channel, m.To)}, extra...)
	if a != nil {
		e := activity.Entry{Action: "message.sent", EntityType: "message", EntityID: m.ID, ClientID: m.ClientID, MatterID: m.MatterID, Detail: m.Channel + ", " + m.Kind}
		err = activity.Commit(ctx, s.DB, activity.MainLog, *a, now, access.SendMessages, e, items...)
	} else {
		err = s.DB.Transact(ctx, items...)
	}
	switch {
	case store.Failed(err, 1):
		return errOptedOut(m.Channel)
	case err != nil:
		return err
	}
	s.enqueue(ctx, orgID, m.ID)
	return nil
}
