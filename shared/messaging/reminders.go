package messaging

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/identity"
	"github.com/matterly/matterly/shared/payments"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
	"github.com/matterly/matterly/shared/trust"
)

// Schedule limits.
const (
	// ScheduleEvery is how often the schedule runs (an EventBridge rule).
	ScheduleEvery = 5 * time.Minute
	// MaxLeadMinutes is the longest reminder lead time an org may set.
	MaxLeadMinutes = 7 * 24 * 60
	// quietMargin is how long before quiet hours a reminder due inside
	// them goes out instead (the evening before, not at 3 a.m.).
	quietMargin = 30 * time.Minute
	// requeueAfter is how long a queued message waits for its worker
	// before the sweep hands it over again.
	requeueAfter = time.Minute
	// Payment reminders: the first a day after the due date, then weekly,
	// at most three.
	paymentReminderEvery = 7
	maxPaymentReminders  = 3
)

// RunSchedule is the 5-minute schedule: for every org, the appointment and
// payment reminders now due, and the sweep of queued messages whose
// hand-over to the worker was lost. Each reminder is sent once however
// late, often or in parallel this runs: its message is stored in one
// transaction with a "sent" marker that must not exist yet.
func (s *Service) RunSchedule(ctx context.Context) error {
	var start store.StartKey
	var errs []error
	for {
		ids, next, err := identity.ListOrgs(ctx, s.DB, 100, start)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := s.remindOrg(ctx, id); err != nil {
				// One org's trouble must not hold up the others' reminders.
				errs = append(errs, fmt.Errorf("org %s: %w", id, err))
			}
		}
		if next == nil {
			return errors.Join(errs...)
		}
		start = next
	}
}

func (s *Service) remindOrg(ctx context.Context, orgID string) error {
	o, st, err := s.orgAndSettings(ctx, orgID)
	if err != nil {
		return err
	}
	q := quietOf(o, st)
	now := s.Now().UTC()
	errs := []error{s.sweep(ctx, orgID, now)}
	if !q.in(now) {
		errs = append(errs, s.appointmentReminders(ctx, orgID, o, st, q, now))
		if st.PaymentReminders {
			errs = append(errs, s.paymentReminders(ctx, orgID, o, q, now))
		}
	}
	return errors.Join(errs...)
}

// appointmentReminders sends the due reminders of bookings with
// smsReminder: at the lead time before the start, or before quiet hours
// when the lead time falls inside them.
func (s *Service) appointmentReminders(ctx context.Context, orgID string, o org, st Settings, q quiet, now time.Time) error {
	lead := time.Duration(st.ReminderLeadMinutes) * time.Minute
	// A reminder moved before quiet hours goes out up to a day early.
	from, to := now, now.Add(lead+24*time.Hour)
	var start store.StartKey
	for {
		var rows []crm.Booking
		page := crm.BookingsStarting(orgID, from, to)
		page.Limit, page.StartKey = 100, start
		next, err := s.DB.QueryPage(ctx, page, &rows)
		if err != nil {
			return err
		}
		for _, b := range rows {
			if !b.SMSReminder || b.Status == crm.BookingCanceled || !b.StartsAt.After(now) || now.Before(q.sendAt(b.StartsAt.Add(-lead))) {
				continue
			}
			if err := s.remindBooking(ctx, orgID, o, b); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		start = next
	}
}

// bookingTime is the time format of the reminder markers' keys.
const bookingTime = "2006-01-02T15:04:05Z"

func (s *Service) remindBooking(ctx context.Context, orgID string, o org, b crm.Booking) error {
	marker := "REMINDED#BOOKING#" + b.ID + "#" + b.StartsAt.UTC().Format(bookingTime) // a moved booking is reminded again
	var c crm.Client
	if err := s.DB.Get(ctx, tenant.PK(orgID), crm.ClientSK(b.ClientID), &c); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	if c.Processable() != nil { // restricted, or erased and held: no processor sees them
		return s.mark(ctx, orgID, marker, "the client's processing is restricted")
	}
	if c.Phone == "" {
		return s.mark(ctx, orgID, marker, "no phone number")
	}
	loc := tenant.Zone(b.Timezone)
	if b.Timezone == "" {
		loc = o.Loc()
	}
	when := b.StartsAt.In(loc)
	body := "Reminder: your appointment on " + when.Format("Mon Jan 2 at 3:04 PM MST")
	if b.Location != "" {
		body += " at " + truncate(b.Location, 80)
	}
	body += ". Reply STOP to opt out."
	m, err := s.newSMS(o, c.Phone, body)
	if err != nil {
		return err
	}
	m.Kind, m.ClientID, m.MatterID = KindAppointmentReminder, c.ID, b.MatterID
	return s.remind(ctx, orgID, marker, &m)
}

// remind stores m with its marker; a marker already there means this
// reminder went out (or is going out) on another run.
func (s *Service) remind(ctx context.Context, orgID, marker string, m *Message) error {
	put, err := s.DB.Put(markerRow{PK: tenant.PK(orgID), SK: marker, Type: "reminderMarker", At: s.Now().UTC()}, store.NotExists())
	if err != nil {
		return err
	}
	err = s.store(ctx, nil, orgID, m, put)
	switch {
	case store.Failed(err, 2):
		return nil // sent by another run
	case isOptedOut(err):
		// Opted out: never sent; marked so later runs do not try again.
		return s.mark(ctx, orgID, marker, "recipient opted out")
	}
	return err
}

// markerRow is a reminder's "sent" marker.
type markerRow struct {
	PK   string    `dynamodbav:"PK"`
	SK   string    `dynamodbav:"SK"`
	Type string    `dynamodbav:"type"`
	At   time.Time `dynamodbav:"at"`
	Note string    `dynamodbav:"note,omitempty"`
}

// mark records a reminder that will not be sent, and why.
func (s *Service) mark(ctx context.Context, orgID, marker, why string) error {
	err := s.DB.PutItem(ctx, markerRow{PK: tenant.PK(orgID), SK: marker, Type: "reminderMarker", At: s.Now().UTC(), Note: why}, store.NotExists())
	if err != nil && !errors.Is(err, store.ErrConditionFailed) {
		return err
	}
	return nil
}

// paymentReminders sends reminders for the org's overdue invoices.
func (s *Service) paymentReminders(ctx context.Context, orgID string, o org, q quiet, now time.Time) error {
	today := now.In(q.loc).Format(time.DateOnly)
	pay := &payments.Service{DB: s.DB}
	var start store.StartKey
	for {
		invs, next, err := pay.OverdueInvoices(ctx, orgID, today, 100, start)
		if err != nil {
			return err
		}
		for _, inv := range invs {
			if err := s.remindInvoice(ctx, orgID, o, inv, now.In(q.loc)); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		start = next
	}
}

func (s *Service) remindInvoice(ctx context.Context, orgID string, o org, inv payments.Invoice, now time.Time) error {
	due, err := time.ParseInLocation(time.DateOnly, inv.DueDate, now.Location())
	if err != nil {
		return nil
	}
	days := int(now.Sub(due).Hours() / 24)
	n := 1 + (days-1)/paymentReminderEvery
	if days < 1 || n > maxPaymentReminders {
		return nil
	}
	marker := fmt.Sprintf("REMINDED#INVOICE#%s#%d", inv.ID, n)
	var c crm.Client
	if err := s.DB.Get(ctx, tenant.PK(orgID), crm.ClientSK(inv.ClientID), &c); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	if c.Processable() != nil {
		return s.mark(ctx, orgID, marker, "the client's processing is restricted")
	}
	owed := trust.Money(inv.Total, inv.Currency)
	text := "Invoice " + cmp.Or(inv.Number, inv.ID) + " for " + owed + " was due on " + inv.DueDate + "."
	if inv.HostedURL != "" {
		text += " Pay online: " + inv.HostedURL
	}
	var m Message
	switch {
	case c.Phone != "":
		if m, err = s.newSMS(o, c.Phone, text+" Reply STOP to opt out."); err != nil {
			return err
		}
	case c.Email != "" && s.EmailReady:
		m = Message{Channel: Email, Direction: Outbound, To: normalEmail(c.Email), Subject: "Payment reminder from " + o.Name, Body: text}
	default:
		return s.mark(ctx, orgID, marker, "no phone number or email")
	}
	m.Kind, m.ClientID, m.MatterID = KindPaymentReminder, c.ID, inv.MatterID
	return s.remind(ctx, orgID, marker, &m)
}

// sweep queues again the org's messages still queued a minute after they
// were stored (the hand-over to the queue failed) or whose quiet-hours
// wait is over. The worker claims each once, so a second hand-over of a
// message already on its way sends nothing twice.
func (s *Service) sweep(ctx context.Context, orgID string, now time.Time) error {
	var rows []Message
	if _, err := s.DB.QueryPage(ctx, store.Query{Index: store.IndexGSI2, PK: statusPK(orgID, StatusQueued), Forward: true, Limit: 100}, &rows); err != nil {
		return err
	}
	for _, m := range rows {
		if m.Status != StatusQueued || m.NotBefore(now) || m.SendAfter.IsZero() && now.Sub(m.UpdatedAt) < requeueAfter {
			continue
		}
		s.enqueue(ctx, orgID, m.ID)
	}
	return nil
}

// quietOf is an org's quiet hours.
func quietOf(o org, st Settings) quiet {
	return quiet{loc: o.Loc(), start: st.QuietStart, end: st.QuietEnd}
}

// quiet is an org's quiet hours in its time zone.
type quiet struct {
	loc        *time.Location
	start, end string // HH:MM
}

// in reports whether t falls in quiet hours (which may span midnight).
func (q quiet) in(t time.Time) bool {
	hm := t.In(q.loc).Format("15:04")
	if q.start == q.end {
		return false
	}
	if q.start < q.end {
		return hm >= q.start && hm < q.end
	}
	return hm >= q.start || hm < q.end
}

// sendAt is when a reminder due at due goes out: then, or, when that is in
// quiet hours, quietMargin before those quiet hours began.
func (q quiet) sendAt(due time.Time) time.Time {
	if !q.in(due) {
		return due
	}
	local := due.In(q.loc)
	h, m := hhmmOf(q.start)
	begin := time.Date(local.Year(), local.Month(), local.Day(), h, m, 0, 0, q.loc)
	if begin.After(local) {
		begin = begin.AddDate(0, 0, -1) // the quiet hours began the evening before
	}
	return begin.Add(-quietMargin)
}

// endAfter is when the quiet hours around t end.
func (q quiet) endAfter(t time.Time) time.Time {
	local := t.In(q.loc)
	h, m := hhmmOf(q.end)
	end := time.Date(local.Year(), local.Month(), local.Day(), h, m, 0, 0, q.loc)
	if !end.After(local) {
		end = end.AddDate(0, 0, 1)
	}
	return end
}

func hhmmOf(s string) (int, int) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, 0
	}
	return t.Hour(), t.Minute()
}
