package messaging

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/relay"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// CaseUpdateEvents are the domain events that may notify a client.
var CaseUpdateEvents = []string{"matter.status_changed", "matter.closed"}

// ScheduleDetailType is EventBridge's detail-type of a scheduled rule.
const ScheduleDetailType = "Scheduled Event"

// HandleEvent is the notifier function: the 5-minute schedule, SES's
// bounces and complaints, or a matter's status change, which tells the
// client when the matter has clientUpdates on. Events arrive at least once; the change's event id is
// the message's marker, so a redelivery sends nothing twice.
func (s *Service) HandleEvent(ctx context.Context, ev events.EventBridgeEvent) error {
	switch ev.DetailType {
	case ScheduleDetailType:
		return s.RunSchedule(ctx)
	case SESBounce, SESComplaint:
		return s.feedback(ctx, ev.Detail)
	}
	var e relay.Event
	if err := json.Unmarshal(ev.Detail, &e); err != nil || e.OrgID == "" || e.MatterID == "" || e.ID == "" {
		s.Log.Error("unreadable event ignored", "detailType", ev.DetailType)
		return nil
	}
	return s.caseUpdate(ctx, e)
}

func (s *Service) caseUpdate(ctx context.Context, e relay.Event) error {
	var mt crm.Matter
	var c crm.Client
	pk := tenant.PK(e.OrgID)
	matter := &store.KeyOut{PK: pk, SK: crm.MatterSK(e.MatterID), Out: &mt}
	o, st, err := s.orgAndSettings(ctx, e.OrgID, matter)
	if err != nil {
		return err
	}
	if !matter.Found || mt.ClientUpdates == "" || mt.ClientUpdates == crm.UpdatesNone {
		return nil
	}
	if err := s.DB.Get(ctx, pk, crm.ClientSK(mt.ClientID), &c); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	marker := "NOTIFIED#" + e.ID
	if c.Processable() != nil { // restricted, or erased and held: no processor sees them
		return s.mark(ctx, e.OrgID, marker, "the client's processing is restricted")
	}
	// The status as it is now: a later change has its own event.
	text := "There is an update on your matter \"" + truncate(mt.Title, 60) + "\": it is now " + mt.Status + "."
	var m Message
	switch {
	case mt.ClientUpdates == crm.UpdatesSMS && c.Phone != "":
		if m, err = s.newSMS(o, c.Phone, text+" Reply STOP to opt out."); err != nil {
			return err
		}
	case mt.ClientUpdates == crm.UpdatesEmail && c.Email != "":
		m = Message{Channel: Email, Direction: Outbound, To: normalEmail(c.Email), Subject: "Update on your matter from " + o.Name, Body: text}
	default:
		return s.mark(ctx, e.OrgID, marker, "the client has no "+mt.ClientUpdates+" address")
	}
	m.Kind, m.ClientID, m.MatterID = KindCaseUpdate, c.ID, mt.ID
	if q, now := quietOf(o, st), s.Now(); q.in(now) {
		m.SendAfter = q.endAfter(now).UTC() // the schedule's sweep queues it then
	}
	return s.remind(ctx, e.OrgID, marker, &m)
}
