package calendar

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/fault"
)

func at(h, m int) time.Time { return time.Date(2026, 12, 9, h, m, 0, 0, time.UTC) }

func iv(h1, m1, h2, m2 int) Interval { return Interval{at(h1, m1), at(h2, m2)} }

func TestIntervals(t *testing.T) {
	tests := []struct {
		name string
		got  []Interval
		want []Interval
	}{
		{"merge overlapping and touching", merge([]Interval{iv(11, 0, 12, 0), iv(9, 0, 10, 0), iv(9, 30, 11, 0), iv(13, 0, 14, 0)}),
			[]Interval{iv(9, 0, 12, 0), iv(13, 0, 14, 0)}},
		{"merge nothing", merge(nil), []Interval{}},
		{"intersect", intersect([]Interval{iv(9, 0, 17, 0)}, []Interval{iv(10, 0, 12, 0), iv(16, 0, 18, 0)}),
			[]Interval{iv(10, 0, 12, 0), iv(16, 0, 17, 0)}},
		{"intersect disjoint", intersect([]Interval{iv(9, 0, 10, 0)}, []Interval{iv(10, 0, 11, 0)}), nil},
		{"subtract", subtract([]Interval{iv(9, 0, 17, 0)}, []Interval{iv(8, 0, 9, 30), iv(12, 0, 13, 0), iv(16, 30, 18, 0)}),
			[]Interval{iv(9, 30, 12, 0), iv(13, 0, 16, 30)}},
		{"subtract all", subtract([]Interval{iv(9, 0, 10, 0)}, []Interval{iv(8, 0, 11, 0)}), nil},
		{"clip", clipAll([]Interval{iv(8, 0, 10, 0), iv(16, 0, 18, 0), iv(6, 0, 7, 0)}, at(9, 0), at(17, 0)),
			[]Interval{iv(9, 0, 10, 0), iv(16, 0, 17, 0)}},
	}
	for _, tt := range tests {
		if !slices.Equal(tt.got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

// TestWorking: working hours are in the org's zone, on the listed days,
// across a DST change.
func TestWorking(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	h := WorkingHours{Days: []string{"fri", "mon"}, Start: "09:00", End: "17:30"}
	// Friday 2026-03-06 to Tuesday 2026-03-10 (DST starts Sunday the 8th).
	got := working(h, time.Date(2026, 3, 6, 0, 0, 0, 0, ny), time.Date(2026, 3, 10, 0, 0, 0, 0, ny), ny)
	want := []Interval{
		{time.Date(2026, 3, 6, 14, 0, 0, 0, time.UTC), time.Date(2026, 3, 6, 22, 30, 0, 0, time.UTC)},
		{time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 21, 30, 0, 0, time.UTC)},
	}
	if !slices.Equal(got, want) {
		t.Errorf("working = %v, want %v", got, want)
	}
}

func TestWorkingHoursNormalize(t *testing.T) {
	tests := []struct {
		in    WorkingHours
		field string // "" when valid
	}{
		{WorkingHours{Days: []string{"Mon", " tue"}, Start: "08:00", End: "16:00"}, ""},
		{WorkingHours{Days: []string{}, Start: "08:00", End: "16:00"}, ""},
		{WorkingHours{Start: "08:00", End: "16:00"}, "days"},
		{WorkingHours{Days: []string{"mon", "mon"}, Start: "08:00", End: "16:00"}, "days[1]"},
		{WorkingHours{Days: []string{"monday"}, Start: "08:00", End: "16:00"}, "days[0]"},
		{WorkingHours{Days: []string{"mon"}, Start: "8:00", End: "16:00"}, "start"},
		{WorkingHours{Days: []string{"mon"}, Start: "08:00", End: "24:00"}, "end"},
		{WorkingHours{Days: []string{"mon"}, Start: "16:00", End: "08:00"}, "end"},
	}
	for _, tt := range tests {
		err := tt.in.normalize()
		if (err == nil) != (tt.field == "") || (err != nil && !hasField(err, tt.field)) {
			t.Errorf("%+v: err = %v, want field %q", tt.in, err, tt.field)
		}
	}
}

func hasField(err error, field string) bool {
	fe := fault.As(err)
	return fe != nil && slices.ContainsFunc(fe.Fields, func(f fault.FieldError) bool { return f.Field == field })
}

// TestState: a connect state opens only as signed, unexpired and with its
// parts intact.
func TestState(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	s := &Service{StateKey: []byte("0123456789abcdef0123456789abcdef"), Now: func() time.Time { return now }}
	org, user := "01J9Z3KXW6N4P8R2T5V7Y9B1C3", "01J9Z3KXW6N4P8R2T5V7Y9B1C4"
	good := s.signState(org, user, "nonce1", now.Add(stateTTL))
	if st, ok := s.openState(good); !ok || st.orgID != org || st.userID != user || st.nonce != "nonce1" {
		t.Fatalf("openState(good) = %+v, %v", st, ok)
	}
	other := &Service{StateKey: []byte("another key, another key, another"), Now: s.Now}
	parts := strings.Split(good, ".")
	for name, v := range map[string]string{
		"expired":      s.signState(org, user, "nonce1", now.Add(-time.Second)),
		"other key":    other.signState(org, user, "nonce1", now.Add(stateTTL)),
		"other member": strings.Join(append([]string{org, "01J9Z3KXW6N4P8R2T5V7Y9B1C5"}, parts[2:]...), "."),
		"longer":       strings.Replace(good, ".nonce1.", ".nonce1x.", 1),
		"truncated":    strings.Join(parts[:4], "."),
		"empty":        "",
		"not an id":    s.signState("ORG#x", user, "n", now.Add(stateTTL)),
	} {
		if _, ok := s.openState(v); ok {
			t.Errorf("%s state opened", name)
		}
	}
}

func TestParseJob(t *testing.T) {
	tests := []struct {
		body string
		want Job
		ok   bool
	}{
		{`{"kind":"sync","orgId":"o","userId":"u","calendarId":"c"}`, Job{Kind: JobSync, OrgID: "o", UserID: "u", CalendarID: "c"}, true},
		{`{"kind":"sync","orgId":"o","userId":"u"}`, Job{}, false},
		{`{"kind":"writeback","orgId":"o","bookingId":"b"}`, Job{Kind: JobWriteBack, OrgID: "o", BookingID: "b"}, true},
		{`{"version":"0","detail-type":"booking.updated","source":"matterly","detail":{"orgId":"o","bookingId":"b","entityId":"b"}}`,
			Job{Kind: JobWriteBack, OrgID: "o", BookingID: "b"}, true},
		{`{"kind":"erase-org","orgId":"o"}`, Job{Kind: JobEraseOrg, OrgID: "o"}, true},
		{`{"kind":"erase-org"}`, Job{}, false},
		{`{"kind":"erase-org-offline","orgId":"o"}`, Job{}, false}, // the last try's, never a message's
		{`{"kind":"mine","orgId":"o"}`, Job{}, false},
		{`not json`, Job{}, false},
	}
	for _, tt := range tests {
		got, ok := parseJob(tt.body)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("parseJob(%s) = %+v %v, want %+v %v", tt.body, got, ok, tt.want, tt.ok)
		}
	}
}
