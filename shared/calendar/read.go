package calendar

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// WorkingHours are a member's working days and hours, in the org's time
// zone.
type WorkingHours struct {
	Days  []string `dynamodbav:"days" json:"days"` // mon ... sun
	Start string   `dynamodbav:"start" json:"start"`
	End   string   `dynamodbav:"end" json:"end"`
}

// DefaultWorkingHours are Monday to Friday, 09:00 to 17:00.
var DefaultWorkingHours = WorkingHours{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "17:00"}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func minutes(v string) int {
	h, _ := strconv.Atoi(v[:2])
	m, _ := strconv.Atoi(v[3:])
	return h*60 + m
}

func (w *WorkingHours) normalize() error {
	var ck fault.Checker
	seen := map[string]bool{}
	for i, d := range w.Days {
		d = strings.ToLower(strings.TrimSpace(d))
		w.Days[i] = d
		ck.Check(slices.Contains(dayNames, d), "days["+strconv.Itoa(i)+"]", "must be one of mon, tue, wed, thu, fri, sat, sun")
		ck.Check(!seen[d], "days["+strconv.Itoa(i)+"]", "is listed twice")
		seen[d] = true
	}
	ck.Check(w.Days != nil, "days", "is required")
	okS, okE := check.ClockTime(w.Start), check.ClockTime(w.End)
	ck.Check(okS, "start", "must be a time HH:MM, e.g. 09:00")
	ck.Check(okE, "end", "must be a time HH:MM, e.g. 17:00")
	if okS && okE {
		ck.Check(minutes(w.End) > minutes(w.Start), "end", "must be after start")
	}
	return ck.Err()
}

// Hours reads a member's working hours (the default when never set).
func (s *Service) Hours(ctx context.Context, orgID, userID string) (WorkingHours, error) {
	var r hoursRow
	err := s.DB.Get(ctx, tenant.PK(orgID), hoursSK(userID), &r)
	if errors.Is(err, store.ErrNotFound) {
		return DefaultWorkingHours, nil
	}
	return r.WorkingHours, err
}

// SetHours sets the caller's working hours.
func (s *Service) SetHours(ctx context.Context, a caller.Caller, in WorkingHours) (WorkingHours, error) {
	if err := in.normalize(); err != nil {
		return WorkingHours{}, err
	}
	row := hoursRow{Keys: store.Keys{PK: tenant.PK(a.OrgID), SK: hoursSK(a.UserID), Type: "workingHours"}, WorkingHours: in, UpdatedAt: s.Now().UTC()}
	put, err := s.DB.Put(row, nil)
	if err != nil {
		return WorkingHours{}, err
	}
	// Confirmed as a member in the same write: a removed member's token sets nothing.
	if err := s.DB.Transact(ctx, put, tenant.MemberWith(s.DB, a.OrgID, a.UserID, access.UseCalendar)); err != nil {
		if store.Failed(err, 1) {
			return WorkingHours{}, tenant.ErrRoleChanged
		}
		return WorkingHours{}, err
	}
	return in, nil
}

// Interval is a span of time.
type Interval struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// EventView is one item of GET /v1/calendar/events: a synced event or a
// booking. Another member's private event shows only as busy.
type EventView struct {
	ID               string    `json:"id"`
	Source           string    `json:"source"` // microsoft, matterly
	Subject          string    `json:"subject,omitempty"`
	Start            time.Time `json:"start"`
	End              time.Time `json:"end"`
	TimeZone         string    `json:"timeZone,omitempty"`
	AllDay           bool      `json:"allDay"`
	Location         string    `json:"location,omitempty"`
	OnlineMeetingURL string    `json:"onlineMeetingUrl,omitempty"`
	Attendees        []Person  `json:"attendees,omitempty"`
	Organizer        *Person   `json:"organizer,omitempty"`
	ShowAs           string    `json:"showAs"`
	Sensitivity      string    `json:"sensitivity,omitempty"`
	SeriesMasterID   string    `json:"seriesMasterId,omitempty"`
	Type             string    `json:"type,omitempty"`
	BookingID        string    `json:"bookingId,omitempty"`
	Private          bool      `json:"private"`
}

// Range bounds.
const (
	maxEventsSpan = 62 * 24 * time.Hour
	maxFreeSpan   = 31 * 24 * time.Hour
	maxEventSpan  = 14 * 24 * time.Hour // events starting this long before a range are read for overlap
	maxMembers    = 10
	maxItems      = 5000
)

// parseRange reads from and to (RFC 3339).
func parseRange(from, to string, maxSpan time.Duration) (time.Time, time.Time, error) {
	var ck fault.Checker
	f, err1 := time.Parse(time.RFC3339, from)
	t, err2 := time.Parse(time.RFC3339, to)
	ck.Check(err1 == nil, "from", "must be an RFC 3339 time, e.g. 2026-03-01T00:00:00Z")
	ck.Check(err2 == nil, "to", "must be an RFC 3339 time, e.g. 2026-03-08T00:00:00Z")
	if err1 == nil && err2 == nil {
		ck.Check(t.After(f), "to", "must be after from")
		ck.Check(t.Sub(f) <= maxSpan, "to", "the range spans at most "+strconv.Itoa(int(maxSpan.Hours()/24))+" days")
	}
	return f.UTC(), t.UTC(), ck.Err()
}

// checkMembers confirms every id is a member of the org (404 otherwise,
// as for any id of another org).
func (s *Service) checkMembers(ctx context.Context, orgID string, ids []string) error {
	reqs := make([]*store.KeyOut, len(ids))
	for i, id := range ids {
		if !check.ID(id) {
			return fault.E(fault.NotFound, "No such member.")
		}
		reqs[i] = &store.KeyOut{PK: tenant.PK(orgID), SK: tenant.MemberSK(id), Out: &struct{}{}}
	}
	if err := s.DB.BatchGet(ctx, reqs...); err != nil {
		return err
	}
	for _, r := range reqs {
		if !r.Found {
			return fault.E(fault.NotFound, "No such member.")
		}
	}
	return nil
}

// memberEvents reads a member's synced events overlapping [from, to).
// Unless withShared, only the events of the member's own calendars are
// read: a calendar another mailbox shares with the member (or one the
// connection no longer lists) is not the member's time, so it never
// counts in their availability and is never shown to colleagues.
func (s *Service) memberEvents(ctx context.Context, orgID, userID string, from, to time.Time, withShared bool) ([]eventRow, error) {
	var own map[string]bool
	if !withShared {
		c, err := s.conn(ctx, orgID, userID)
		if errors.Is(err, errNotConnected) {
			return nil, nil // no connection: no synced events count
		}
		if err != nil {
			return nil, err
		}
		own = map[string]bool{}
		for _, cal := range c.Calendars {
			own[cal.ID] = ownCalendar(cal, c.Email)
		}
	}
	rows, err := store.QueryAll[eventRow](ctx, s.DB, store.Query{Index: store.IndexGSI1, PK: eventsPK(orgID, userID),
		SKFrom: timeKey(from.Add(-maxEventSpan)), SKTo: timeKey(to.Add(-time.Second)) + "#~", Forward: true})
	if err != nil {
		return nil, err
	}
	out := rows[:0]
	for _, r := range rows {
		if r.End.After(from) && r.Start.Before(to) && (withShared || own[r.CalendarID]) {
			out = append(out, r)
		}
	}
	return out, nil
}

// ownCalendar tells a member's own calendar (their default one, or one
// their mailbox owns) from one another mailbox shares with them.
func ownCalendar(c Calendar, email string) bool {
	return c.IsDefault || (c.Owner != "" && strings.EqualFold(c.Owner, email))
}

// privateSensitivity are the sensitivities that show colleagues only
// busy time: no subject, location or attendees.
func privateSensitivity(v string) bool {
	switch strings.ToLower(v) {
	case "private", "confidential", "personal":
		return true
	}
	return false
}

// bookings reads the org's live bookings overlapping [from, to), once for
// every member asked about.
func (s *Service) bookings(ctx context.Context, orgID string, from, to time.Time) ([]crm.Booking, error) {
	if s.CRM == nil {
		return nil, nil
	}
	var all []crm.Booking
	var start store.StartKey
	for {
		page, next, err := s.CRM.ListBookings(ctx, orgID, crm.BookingFilter{From: from.Add(-maxEventSpan), To: to}, 100, start)
		if err != nil {
			return nil, err
		}
		for _, b := range page {
			if b.Status != crm.BookingCanceled && b.EndsAt.After(from) && b.StartsAt.Before(to) {
				all = append(all, b)
			}
		}
		if next == nil || len(all) > maxItems {
			return all, nil
		}
		start = next
	}
}

func bookedFor(b crm.Booking, userID string) bool {
	return b.CreatedBy == userID || slices.Contains(b.Attendees, userID)
}

// Events lists a member's synced events and bookings in [from, to).
func (s *Service) Events(ctx context.Context, a caller.Caller, userID, from, to string) ([]EventView, error) {
	f, t, err := parseRange(from, to, maxEventsSpan)
	if err != nil {
		return nil, err
	}
	if userID == "" {
		userID = a.UserID
	} else if err := s.checkMembers(ctx, a.OrgID, []string{userID}); err != nil {
		return nil, err
	}
	// The member sees every synced calendar of theirs, shared ones too;
	// colleagues only the member's own calendars.
	rows, err := s.memberEvents(ctx, a.OrgID, userID, f, t, userID == a.UserID)
	if err != nil {
		return nil, err
	}
	books, err := s.bookings(ctx, a.OrgID, f, t)
	if err != nil {
		return nil, err
	}
	out := []EventView{}
	shown := map[string]bool{}
	for _, b := range books {
		if !bookedFor(b, userID) {
			continue
		}
		shown[b.ID] = true
		out = append(out, EventView{ID: b.ID, Source: "matterly", Subject: b.Title, Start: b.StartsAt, End: b.EndsAt, TimeZone: b.Timezone,
			Location: b.Location, OnlineMeetingURL: b.VideoURL, ShowAs: "busy", BookingID: b.ID})
	}
	for _, r := range rows {
		if r.BookingID != "" && shown[r.BookingID] {
			continue // the booking, written to Outlook, shows once
		}
		v := EventView{ID: r.EventID, Source: "microsoft", Start: r.Start, End: r.End, AllDay: r.AllDay, ShowAs: r.ShowAs}
		if userID != a.UserID && privateSensitivity(r.Sensitivity) {
			v.Private = true
		} else {
			org := r.Organizer
			v.Subject, v.TimeZone, v.Location, v.OnlineMeetingURL, v.Attendees, v.Organizer = r.Subject, r.TimeZone, r.Location, r.OnlineMeetingURL, r.Attendees, &org
			v.Sensitivity, v.SeriesMasterID, v.Type = r.Sensitivity, r.SeriesMasterID, r.Kind
		}
		out = append(out, v)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	if len(out) > maxItems {
		out = out[:maxItems]
	}
	return out, nil
}

// MemberAvailability is one member's busy time.
type MemberAvailability struct {
	UserID       string       `json:"userId"`
	Busy         []Interval   `json:"busy"`
	WorkingHours WorkingHours `json:"workingHours"`
}

// Availability is GET /v1/calendar/availability.
type Availability struct {
	From     time.Time            `json:"from"`
	To       time.Time            `json:"to"`
	TimeZone string               `json:"timeZone"`
	Members  []MemberAvailability `json:"members"`
	// Free lists, when a duration is asked, the common free slots at least
	// that long inside every member's working hours.
	Free []Interval `json:"free,omitempty"`
}

// busyShows are the showAs values that make a member busy.
var busyShows = []string{"busy", "tentative", "oof", "workingElsewhere"}

// Availability merges the members' busy intervals and, with a duration,
// finds their common free slots.
func (s *Service) Availability(ctx context.Context, a caller.Caller, userIDs, from, to, duration string) (Availability, error) {
	var ck fault.Checker
	var ids []string
	for _, id := range strings.Split(userIDs, ",") {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if userIDs == "" {
		ids = []string{a.UserID}
	}
	ck.Check(len(ids) >= 1 && len(ids) <= maxMembers, "userIds", "must name 1 to "+strconv.Itoa(maxMembers)+" members")
	dur := 0
	if duration != "" {
		n, err := strconv.Atoi(duration)
		ck.Check(err == nil && n >= 5 && n <= 1440, "duration", "must be a number of minutes from 5 to 1440")
		dur = n
	}
	f, t, err := parseRange(from, to, maxFreeSpan)
	if err != nil {
		return Availability{}, err
	}
	if err := ck.Err(); err != nil {
		return Availability{}, err
	}
	if err := s.checkMembers(ctx, a.OrgID, ids); err != nil {
		return Availability{}, err
	}
	loc, err := tenant.ReadZone(ctx, s.DB, a.OrgID)
	if err != nil {
		return Availability{}, err
	}
	books, err := s.bookings(ctx, a.OrgID, f, t)
	if err != nil {
		return Availability{}, err
	}
	out := Availability{From: f, To: t, TimeZone: loc.String()}
	var allBusy []Interval
	windows := []Interval{{f, t}}
	for _, id := range ids {
		rows, err := s.memberEvents(ctx, a.OrgID, id, f, t, false) // shared calendars are not the member's time
		if err != nil {
			return Availability{}, err
		}
		var busy []Interval
		for _, r := range rows {
			if slices.Contains(busyShows, r.ShowAs) {
				busy = append(busy, Interval{r.Start, r.End})
			}
		}
		for _, b := range books {
			if bookedFor(b, id) {
				busy = append(busy, Interval{b.StartsAt, b.EndsAt})
			}
		}
		busy = merge(clipAll(busy, f, t))
		hours, err := s.Hours(ctx, a.OrgID, id)
		if err != nil {
			return Availability{}, err
		}
		out.Members = append(out.Members, MemberAvailability{UserID: id, Busy: busy, WorkingHours: hours})
		allBusy = append(allBusy, busy...)
		windows = intersect(windows, working(hours, f, t, loc))
	}
	if dur > 0 {
		out.Free = []Interval{}
		need := time.Duration(dur) * time.Minute
		for _, free := range subtract(windows, merge(allBusy)) {
			if free.End.Sub(free.Start) >= need {
				out.Free = append(out.Free, free)
			}
		}
	}
	return out, nil
}

// working lists a member's working intervals in [from, to).
func working(h WorkingHours, from, to time.Time, loc *time.Location) []Interval {
	var out []Interval
	day := time.Date(from.In(loc).Year(), from.In(loc).Month(), from.In(loc).Day(), 0, 0, 0, 0, loc)
	for ; day.Before(to); day = day.AddDate(0, 0, 1) {
		if !slices.Contains(h.Days, dayNames[day.Weekday()]) {
			continue
		}
		s, e := minutes(h.Start), minutes(h.End)
		iv := Interval{time.Date(day.Year(), day.Month(), day.Day(), s/60, s%60, 0, 0, loc).UTC(),
			time.Date(day.Year(), day.Month(), day.Day(), e/60, e%60, 0, 0, loc).UTC()}
		out = append(out, clipAll([]Interval{iv}, from, to)...)
	}
	return out
}

func clipAll(in []Interval, from, to time.Time) []Interval {
	var out []Interval
	for _, iv := range in {
		if iv.Start.Before(from) {
			iv.Start = from
		}
		if iv.End.After(to) {
			iv.End = to
		}
		if iv.End.After(iv.Start) {
			out = append(out, Interval{iv.Start.UTC(), iv.End.UTC()})
		}
	}
	return out
}

// merge sorts intervals and joins those that overlap or touch.
func merge(in []Interval) []Interval {
	sort.Slice(in, func(i, j int) bool { return in[i].Start.Before(in[j].Start) })
	out := []Interval{}
	for _, iv := range in {
		if n := len(out); n > 0 && !iv.Start.After(out[n-1].End) {
			if iv.End.After(out[n-1].End) {
				out[n-1].End = iv.End
			}
			continue
		}
		out = append(out, iv)
	}
	return out
}

// intersect is the time in both sorted, disjoint lists.
func intersect(a, b []Interval) []Interval {
	var out []Interval
	for i, j := 0, 0; i < len(a) && j < len(b); {
		s, e := a[i].Start, a[i].End
		if b[j].Start.After(s) {
			s = b[j].Start
		}
		if b[j].End.Before(e) {
			e = b[j].End
		}
		if e.After(s) {
			out = append(out, Interval{s, e})
		}
		if a[i].End.Before(b[j].End) {
			i++
		} else {
			j++
		}
	}
	return out
}

// subtract removes sorted, merged busy time from sorted windows.
func subtract(windows, busy []Interval) []Interval {
	var out []Interval
	for _, w := range windows {
		cur := w.Start
		for _, b := range busy {
			if !b.End.After(cur) || !b.Start.Before(w.End) {
				continue
			}
			if b.Start.After(cur) {
				out = append(out, Interval{cur, b.Start})
			}
			if b.End.After(cur) {
				cur = b.End
			}
		}
		if w.End.After(cur) {
			out = append(out, Interval{cur, w.End})
		}
	}
	return out
}
