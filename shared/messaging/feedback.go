package messaging

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// SES publishes its email events to EventBridge (the configuration set's
// event destination) under these detail types.
const (
	SESBounce    = "Email Bounced"
	SESComplaint = "Email Complaint Received"
)

// FeedbackEvents are the SES events the notifier handles.
var FeedbackEvents = []string{SESBounce, SESComplaint}

// sesEvent is the part of an SES event's detail we read.
type sesEvent struct {
	EventType string `json:"eventType"`
	Bounce    struct {
		BounceType        string `json:"bounceType"` // Permanent, Transient, Undetermined
		BouncedRecipients []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"bouncedRecipients"`
	} `json:"bounce"`
	Complaint struct {
		ComplainedRecipients []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"complainedRecipients"`
		FeedbackType string `json:"complaintFeedbackType"`
	} `json:"complaint"`
	Mail struct {
		MessageID string              `json:"messageId"`
		Tags      map[string][]string `json:"tags"`
	} `json:"mail"`
}

// feedback applies one SES bounce or complaint to the email it names (by
// the org and message tags the worker sent it with). A complaint ("this is
// spam") is an opt-out and goes to the consent log with the message; a
// permanent bounce fails the message. Redelivered events change nothing
// more: a complaint is logged once per message (the message's status
// moves with it), and statuses only move forward.
func (s *Service) feedback(ctx context.Context, raw json.RawMessage) error {
	var ev sesEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		s.Log.Error("unreadable SES event ignored")
		return nil
	}
	orgID, id := first(ev.Mail.Tags["org"]), first(ev.Mail.Tags["msg"])
	if !tenantID(orgID) || !tenantID(id) {
		return nil // not an email of ours (another sender of the account)
	}
	var m Message
	if err := s.DB.Get(ctx, tenant.PK(orgID), messageSK(id), &m); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	if m.Channel != Email {
		return nil
	}
	if m.ProviderID != ev.Mail.MessageID {
		// A send whose answer was lost has no (or another) SES id; the
		// tags are ours, and a complaint must never be dropped.
		s.Log.Info("SES event for a message with another provider id", "messageId", id)
	}
	prev := m.UpdatedAt
	m.UpdatedAt = s.Now().UTC()
	switch ev.EventType {
	case "Complaint":
		if m.ErrorCode == "complaint" {
			return nil
		}
		m.ErrorCode, m.Error = "complaint", "The recipient marked the email as spam: they are unsubscribed."
		m.setKeys(orgID)
		put, err := s.DB.Put(m, store.Unchanged(prev))
		if err != nil {
			return err
		}
		_, err = s.ChangeConsent(ctx, orgID, ConsentChange{Channel: Email, Address: m.To, State: ConsentOut, Method: MethodProvider,
			ClientID: m.ClientID, MessageID: m.ID, ProviderID: m.ProviderID, Note: "Marked as spam (SES complaint)."}, put)
		if isDuplicate(err) {
			return errors.New("message changed meanwhile; EventBridge retries")
		}
		return err
	case "Bounce":
		if ev.Bounce.BounceType != "Permanent" || m.Status == StatusFailed || m.Status == StatusUndelivered || m.ErrorCode == "complaint" {
			return nil
		}
		m.Status, m.ErrorCode, m.Error = StatusUndelivered, "bounced", "The recipient's mail server refused the address permanently."
		m.setKeys(orgID)
		return s.DB.PutItem(ctx, m, store.Unchanged(prev))
	}
	return nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
