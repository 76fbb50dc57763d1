package calendar

import (
	"context"
	"errors"
	"html"
	"slices"
	"time"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// syncAgent is the user agent of the activity entries of changes that
// came from Outlook.
const syncAgent = "Microsoft 365 calendar sync"

// WriteBack brings the Outlook copies of a booking in line with it: one
// event in the default calendar of each member of the booking (organizer
// and attendees) with a connected calendar, created with the booking id
// as transactionId (a retry never makes two), patched when the booking
// changed, deleted when it was canceled or deleted or the member left it.
func (s *Service) WriteBack(ctx context.Context, orgID, bookingID string) error {
	if s.CRM == nil {
		return nil
	}
	links, err := store.QueryAll[writeRow](ctx, s.DB, store.Query{PK: tenant.PK(orgID), SKPrefix: writePf + bookingID + "#", Consistent: true})
	if err != nil {
		return err
	}
	b, err := s.CRM.Booking(ctx, orgID, bookingID)
	if fault.Is(err, fault.NotFound) {
		b = crm.Booking{}
	} else if err != nil {
		return err
	}
	want := map[string]bool{}
	if b.ID != "" && b.Status != crm.BookingCanceled {
		want[b.CreatedBy] = true
		for _, m := range b.Attendees {
			want[m] = true
		}
	}
	have := map[string]writeRow{}
	var errs []error
	for _, l := range links {
		have[l.UserID] = l
		if !want[l.UserID] {
			errs = append(errs, s.unwrite(ctx, orgID, l))
		}
	}
	if len(want) == 0 {
		return errors.Join(errs...)
	}
	members := make([]string, 0, len(want))
	for m := range want {
		members = append(members, m)
	}
	slices.Sort(members)
	conns := make([]connRow, len(members))
	reqs := make([]*store.KeyOut, len(members))
	for i, m := range members {
		reqs[i] = &store.KeyOut{PK: tenant.PK(orgID), SK: connSK(m), Out: &conns[i]}
	}
	if err := s.DB.BatchGet(ctx, reqs...); err != nil {
		return err
	}
	out := s.outEvent(b)
	for i, m := range members {
		if !reqs[i].Found || conns[i].Status != StatusConnected {
			continue
		}
		errs = append(errs, s.write(ctx, orgID, m, b, out, have[m]))
	}
	return errors.Join(errs...)
}

// outEvent is a booking as written to Outlook: private, its subject and
// place, and a body that links the matter in Matterly and names no client.
func (s *Service) outEvent(b crm.Booking) OutEvent {
	body := "<p>Booked in Matterly.</p>"
	if b.MatterID != "" {
		link := s.AppBaseURL + "/matters/" + b.MatterID
		body += `<p><a href="` + html.EscapeString(link) + `">Open the matter in Matterly</a></p>`
	}
	if b.VideoURL != "" {
		body += `<p>Video: <a href="` + html.EscapeString(b.VideoURL) + `">` + html.EscapeString(b.VideoURL) + `</a></p>`
	}
	return OutEvent{TransactionID: b.ID, Subject: b.Title, Start: b.StartsAt, End: b.EndsAt, TimeZone: b.Timezone, Location: b.Location,
		Body: body, Sensitivity: "private"}
}

// write creates or patches one member's copy.
func (s *Service) write(ctx context.Context, orgID, userID string, b crm.Booking, out OutEvent, link writeRow) error {
	if link.EventID != "" && link.Written.Equal(b.UpdatedAt) {
		return nil // this version is written
	}
	var ev Event
	err := s.withToken(ctx, orgID, userID, func(at string) error {
		var err error
		if link.EventID != "" {
			ev, err = s.Graph.UpdateEvent(ctx, at, link.EventID, out)
			if !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		ev, err = s.Graph.CreateEvent(ctx, at, out)
		return err
	})
	if errors.Is(err, errReconnect) || errors.Is(err, errNotConnected) {
		return nil
	}
	if err != nil {
		return err
	}
	row := writeRow{Keys: store.Keys{PK: tenant.PK(orgID), SK: writeSK(b.ID, userID), Type: "calendarWrite"}, BookingID: b.ID, UserID: userID,
		EventID: ev.ID, Written: b.UpdatedAt}
	return s.DB.PutItem(ctx, row, nil)
}

// unwrite deletes one member's copy and its link.
func (s *Service) unwrite(ctx context.Context, orgID string, l writeRow) error {
	err := s.withToken(ctx, orgID, l.UserID, func(at string) error { return s.Graph.DeleteEvent(ctx, at, l.EventID) })
	if err != nil && !errors.Is(err, errReconnect) && !errors.Is(err, errNotConnected) {
		return err
	}
	return s.DB.Transact(ctx, s.DB.Delete(l.PK, l.SK, nil))
}

// flowBack applies what the member changed in Outlook to the bookings
// written there: a new start, end or location updates the booking when
// Outlook's change is the later one (its lastModifiedDateTime after the
// booking's last update); the organizer deleting the event cancels the
// booking. Only events this service wrote (a link with the same event id)
// count: a transactionId alone proves nothing.
func (s *Service) flowBack(ctx context.Context, orgID, userID string, changed []Event, removed []string) {
	if s.CRM == nil {
		return
	}
	links, err := store.QueryAll[writeRow](ctx, s.DB, store.Query{PK: tenant.PK(orgID), SKPrefix: writePf, Consistent: true})
	if err != nil {
		s.Log.Error("booking links not read", "orgId", orgID, "err", err)
		return
	}
	byEvent := map[string]writeRow{}
	for _, l := range links {
		if l.UserID == userID {
			byEvent[l.EventID] = l
		}
	}
	if len(byEvent) == 0 {
		return
	}
	m, found, err := (tenant.Members{DB: s.DB}).Member(ctx, orgID, userID)
	if err != nil || !found || !access.Can(m.Role, access.WriteBookings) {
		return
	}
	a := caller.Caller{OrgID: orgID, UserID: userID, Role: m.Role, UserAgent: syncAgent}
	for _, e := range changed {
		l, ok := byEvent[e.ID]
		if !ok || l.BookingID != e.TransactionID {
			continue
		}
		b, err := s.CRM.Booking(ctx, orgID, l.BookingID)
		if err != nil || b.Status == crm.BookingCanceled || !e.LastModified.After(b.UpdatedAt) {
			continue
		}
		var p crm.BookingPatch
		start, end := e.Start.Truncate(time.Second), e.End.Truncate(time.Second)
		if !start.Equal(b.StartsAt) {
			p.StartsAt = ptr(start.Format(time.RFC3339))
		}
		if !end.Equal(b.EndsAt) {
			p.EndsAt = ptr(end.Format(time.RFC3339))
		}
		if e.Location != b.Location {
			p.Location = ptr(clip(e.Location, 500))
		}
		if p.StartsAt == nil && p.EndsAt == nil && p.Location == nil {
			continue
		}
		if _, err := s.CRM.UpdateBooking(ctx, a, b.ID, p); err != nil {
			s.Log.Warn("outlook change not applied to the booking", "orgId", orgID, "bookingId", b.ID, "err", err)
		}
	}
	for _, id := range removed {
		l, ok := byEvent[id]
		if !ok {
			continue
		}
		b, err := s.CRM.Booking(ctx, orgID, l.BookingID)
		if err == nil && b.CreatedBy == userID {
			if err := s.CRM.CancelBooking(ctx, a, b.ID, "its event was deleted in Outlook"); err != nil {
				s.Log.Warn("booking not canceled after its Outlook event was deleted", "orgId", orgID, "bookingId", b.ID, "err", err)
				continue
			}
		}
		// The copy is gone: forget it (an attendee's comes back with the next change).
		if err := s.DB.Transact(ctx, s.DB.Delete(l.PK, l.SK, nil)); err != nil {
			s.Log.Warn("booking link not removed", "orgId", orgID, "bookingId", l.BookingID, "err", err)
		}
	}
}
