package check

import (
	"testing"
	"time"

	"github.com/matterly/matterly/shared/fault"
)

func TestMoneyDate(t *testing.T) {
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		v, want string // want: the field's message, "" when v passes
	}{
		{"2026-12-07", ""},
		{"1900-01-01", ""},
		{"2027-12-31", ""},
		{"0000-01-01", "must be a date from 1900-01-01 to 2027-12-31"},
		{"1899-12-31", "must be a date from 1900-01-01 to 2027-12-31"},
		{"2028-01-01", "must be a date from 1900-01-01 to 2027-12-31"},
		{"9999-12-31", "must be a date from 1900-01-01 to 2027-12-31"},
		{"2026-02-30", "must be a date, YYYY-MM-DD"},
		{"2026-1-5", "must be a date, YYYY-MM-DD"},
		{"", "must be a date, YYYY-MM-DD"},
	}
	for _, tt := range tests {
		t.Run(tt.v, func(t *testing.T) {
			var c fault.Checker
			ok := MoneyDate(&c, "date", tt.v, now)
			e := fault.As(c.Err())
			switch {
			case tt.want == "" && (!ok || e != nil):
				t.Fatalf("refused: %+v", e)
			case tt.want != "" && (ok || e == nil || e.Kind != fault.Invalid || e.Fields[0] != fault.FieldError{Field: "date", Message: tt.want}):
				t.Fatalf("got ok %v, %+v; want %q", ok, e, tt.want)
			}
		})
	}
}
