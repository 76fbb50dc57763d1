package crm

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// BookingPatch holds booking fields to set; nil fields stay as they are
// and "" clears an optional one. Times are RFC 3339 with an offset.
type BookingPatch struct {
	ClientID    *string   `json:"clientId"`
	MatterID    *string   `json:"matterId"`
	Title       *string   `json:"title"`
	StartsAt    *string   `json:"startsAt"`
	EndsAt      *string   `json:"endsAt"`
	Timezone    *string   `json:"timezone"`
	Location    *string   `json:"location"`
	VideoURL    *string   `json:"videoUrl"`
	Attendees   *[]string `json:"attendees"`
	Description *string   `json:"description"`
	SMSReminder *bool     `json:"smsReminder"`
}

const (
	maxAttendees   = 25
	maxBookingSpan = 14 * 24 * time.Hour
)

// apply sets the patch's fields on b and checks them against the records
// they name.
func (p BookingPatch) apply(b *Booking, r found) error {
	var ck fault.Checker
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	setTime := func(dst *time.Time, v *string, field string) {
		if v == nil {
			return
		}
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(*v))
		if err != nil || t.Year() < 2000 || t.Year() > 2100 {
			ck.Add(field, "must be an RFC 3339 time with an offset, e.g. 2026-03-01T15:00:00-05:00")
			return
		}
		*dst = t.UTC().Truncate(time.Second)
	}
	set(&b.ClientID, p.ClientID)
	set(&b.MatterID, p.MatterID)
	set(&b.Title, p.Title)
	set(&b.Timezone, p.Timezone)
	set(&b.Location, p.Location)
	set(&b.VideoURL, p.VideoURL)
	set(&b.Description, p.Description)
	setTime(&b.StartsAt, p.StartsAt, "startsAt")
	setTime(&b.EndsAt, p.EndsAt, "endsAt")
	if p.Attendees != nil {
		b.Attendees = dedupe(*p.Attendees)
	}
	if p.SMSReminder != nil {
		b.SMSReminder = *p.SMSReminder
	}

	ck.Check(r.client != nil, "clientId", "no such client")
	if b.MatterID != "" {
		ck.Check(r.matter != nil && r.matter.ClientID == b.ClientID, "matterId", "no such matter of this client")
	}
	check.Text(&ck, "title", b.Title, true, 200)
	check.Text(&ck, "location", b.Location, false, 500)
	check.Text(&ck, "description", b.Description, false, 5000, true)
	ck.Check(b.VideoURL == "" || check.HTTPSURL(b.VideoURL), "videoUrl", "must be an https URL")
	ck.Check(check.Timezone(b.Timezone), "timezone", "must be an IANA time zone such as America/New_York")
	if p.StartsAt == nil && b.StartsAt.IsZero() {
		ck.Add("startsAt", "is required")
	}
	if p.EndsAt == nil && b.EndsAt.IsZero() {
		ck.Add("endsAt", "is required")
	}
	if !b.StartsAt.IsZero() && !b.EndsAt.IsZero() {
		ck.Check(b.EndsAt.After(b.StartsAt), "endsAt", "must be after startsAt")
		ck.Check(b.EndsAt.Sub(b.StartsAt) <= maxBookingSpan, "endsAt", "a booking lasts at most 14 days")
	}
	ck.Check(len(b.Attendees) <= maxAttendees, "attendees", "at most "+strconv.Itoa(maxAttendees)+" attendees")
	for i, id := range b.Attendees {
		_, ok := r.roles[id]
		ck.Check(ok, "attendees["+strconv.Itoa(i)+"]", "must be a member of this org")
	}
	return ck.Err()
}

// refs reads, in one batch, the client, matter and attendees booking b
// (after patch p) points to, and the org's time zone when withOrg.
func (s *Service) refs(ctx context.Context, orgID string, b Booking, p BookingPatch, withOrg bool) (found, error) {
	w := want{org: withOrg, clientID: b.ClientID, matterID: b.MatterID, members: b.Attendees}
	if p.ClientID != nil {
		w.clientID = strings.TrimSpace(*p.ClientID)
	}
	if p.MatterID != nil {
		w.matterID = strings.TrimSpace(*p.MatterID)
	}
	if p.Attendees != nil {
		w.members = dedupe(*p.Attendees)
	}
	return s.lookup(ctx, orgID, w)
}

// bookingRefs are the transaction items that hold while the booking's
// client (and matter, of that client) exist.
func (s *Service) bookingRefs(orgID string, b Booking) []types.TransactWriteItem {
	items := []types.TransactWriteItem{s.clientWritable(orgID, b.ClientID)}
	if b.MatterID != "" {
		c := writable()
		c.Expr += " AND clientId = :c"
		c.Values = map[string]types.AttributeValue{":c": store.S(b.ClientID)}
		items = append(items, s.DB.Check(tenant.PK(orgID), MatterSK(b.MatterID), c))
	}
	return items
}

// CreateBooking books an appointment; its time zone defaults to the org's.
func (s *Service) CreateBooking(ctx context.Context, a caller.Caller, in BookingPatch) (Booking, error) {
	now := s.Now().UTC()
	b := Booking{ID: s.NewID(), CreatedBy: a.UserID, CreatedAt: now, UpdatedAt: now}
	r, err := s.refs(ctx, a.OrgID, b, in, in.Timezone == nil)
	if err != nil {
		return Booking{}, err
	}
	if in.Timezone == nil {
		b.Timezone = r.tz
	}
	if err := in.apply(&b, r); err != nil {
		return Booking{}, err
	}
	b.setKeys(a.OrgID)
	put, err := s.DB.Put(b, store.NotExists())
	if err != nil {
		return Booking{}, err
	}
	e := activity.Entry{Action: "booking.created", EntityType: "booking", EntityID: b.ID, ClientID: b.ClientID, MatterID: b.MatterID, Event: "booking.created"}
	err = s.commit(ctx, a, access.WriteBookings, e, append([]types.TransactWriteItem{put}, s.bookingRefs(a.OrgID, b)...)...)
	if store.Failed(err, 1) || store.Failed(err, 2) {
		return Booking{}, refusal(ctx, s.DB, a.OrgID, b.ClientID, fault.E(fault.Conflict, "The booking's client or matter was deleted meanwhile."))
	}
	if err != nil {
		return Booking{}, err
	}
	return b, nil
}

// Booking reads one booking.
func (s *Service) Booking(ctx context.Context, orgID, id string) (Booking, error) {
	var b Booking
	err := s.get(ctx, orgID, bookingPfx+id, id, "booking", &b)
	return b, err
}

// UpdateBooking applies a partial update (moving, renaming, re-assigning).
func (s *Service) UpdateBooking(ctx context.Context, a caller.Caller, id string, p BookingPatch) (Booking, error) {
	var b Booking
	err := s.updateAsRead(ctx, a, func() (edit, bool, error) {
		var err error
		if b, err = s.Booking(ctx, a.OrgID, id); err != nil {
			return edit{}, false, err
		}
		before := b
		r, err := s.refs(ctx, a.OrgID, b, p, false)
		if err != nil {
			return edit{}, false, err
		}
		if err := p.apply(&b, r); err != nil {
			return edit{}, false, err
		}
		fields := changed(before, b)
		if len(fields) == 0 {
			return edit{}, false, nil
		}
		b.UpdatedAt = s.Now().UTC()
		b.setKeys(a.OrgID)
		w, err := s.DB.Replace(b, store.Unchanged(before.UpdatedAt), "createdAt", "createdBy")
		e := activity.Entry{Action: "booking.updated", EntityType: "booking", EntityID: b.ID, ClientID: b.ClientID, MatterID: b.MatterID, Fields: fields,
			Event: "booking.updated"}
		return edit{perm: access.WriteBookings, entry: e, items: append([]types.TransactWriteItem{w}, s.bookingRefs(a.OrgID, b)...),
			refused: func(err error) error {
				if store.Failed(err, 1) || store.Failed(err, 2) {
					return refusal(ctx, s.DB, a.OrgID, b.ClientID, fault.E(fault.Conflict, "The booking's client or matter was deleted meanwhile."))
				}
				return nil
			}}, err == nil, err
	})
	if err != nil {
		return Booking{}, err
	}
	return b, nil
}

// DeleteBooking cancels a booking.
func (s *Service) DeleteBooking(ctx context.Context, a caller.Caller, id string) error {
	return s.deleteAsRead(ctx, a, bookingPfx+id, func() (time.Time, access.Permission, activity.Entry, error) {
		b, err := s.Booking(ctx, a.OrgID, id)
		e := activity.Entry{Action: "booking.deleted", EntityType: "booking", EntityID: id, ClientID: b.ClientID, MatterID: b.MatterID,
			Event: "booking.deleted"}
		return b.UpdatedAt, access.WriteBookings, e, err
	})
}

// BookingCanceled is a canceled booking's Status.
const BookingCanceled = "canceled"

// CancelBooking marks a booking canceled, with detail saying why (the
// calendar sync: its event was deleted in Outlook). One already canceled
// is left as it is.
func (s *Service) CancelBooking(ctx context.Context, a caller.Caller, id, detail string) error {
	return s.updateAsRead(ctx, a, func() (edit, bool, error) {
		b, err := s.Booking(ctx, a.OrgID, id)
		if err != nil || b.Status == BookingCanceled {
			return edit{}, false, err
		}
		before := b.UpdatedAt
		b.Status, b.UpdatedAt = BookingCanceled, s.Now().UTC()
		b.setKeys(a.OrgID)
		w, err := s.DB.Replace(b, store.Unchanged(before), "createdAt", "createdBy")
		e := activity.Entry{Action: "booking.canceled", EntityType: "booking", EntityID: b.ID, ClientID: b.ClientID, MatterID: b.MatterID,
			Detail: detail, Event: "booking.canceled"}
		return edit{perm: access.WriteBookings, entry: e, items: []types.TransactWriteItem{w}}, err == nil, err
	})
}

// BookingFilter narrows a list of bookings to those starting in
// [From, To) and, optionally, to one client.
type BookingFilter struct {
	From, To time.Time // zero for open-ended
	ClientID string
}

// ListBookings pages through bookings by start time, earliest first.
func (s *Service) ListBookings(ctx context.Context, orgID string, f BookingFilter, limit int32, start store.StartKey) ([]Booking, store.StartKey, error) {
	from, to := "0", "9"
	if !f.From.IsZero() {
		from = timeKey(f.From)
	}
	if !f.To.IsZero() {
		to = timeKey(f.To.Add(-time.Second)) + "#~" // [From, To): the last whole second before To
	}
	q := store.Query{Index: store.IndexGSI1, PK: bookingsPK(orgID), SKFrom: from, SKTo: to, Forward: true, Limit: limit, StartKey: start}
	if f.ClientID != "" {
		q.Index, q.PK = store.IndexGSI2, bookingsOfClientPK(orgID, f.ClientID)
	}
	var out []Booking
	next, err := s.DB.QueryPage(ctx, q, &out)
	return out, next, err
}
