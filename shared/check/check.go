// Package check holds the field rules shared by every capability: ids,
// free text, emails, phone numbers, time zones, dates and URLs. Each rule
// adds a client-safe message to a fault.Checker or reports ok, so a request
// is answered with all its invalid fields at once.
package check

import (
	"net/mail"
	"net/url"
	"strings"
	"time"
	_ "time/tzdata" // time zones must validate the same on Lambda and laptops
	"unicode"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"

	"github.com/matterly/matterly/shared/fault"
)

// ID reports whether id can be one of our ids (a ULID). Anything else is
// answered as not found before it reaches the table, whose key size limits
// would turn an over-long id into a server error.
func ID(id string) bool {
	_, err := ulid.ParseStrict(id)
	return err == nil
}

// Text checks a free-text field's length in characters (after trimming)
// and refuses control characters other than newlines and tabs when
// multiline, and any control character otherwise.
func Text(c *fault.Checker, field, v string, required bool, maxLen int, multiline ...bool) {
	v = strings.TrimSpace(v)
	n := utf8.RuneCountInString(v)
	switch {
	case required && n == 0:
		c.Add(field, "is required")
	case n > maxLen:
		c.Add(field, "is too long (at most "+itoa(maxLen)+" characters)")
	case !utf8.ValidString(v):
		c.Add(field, "must be valid UTF-8 text")
	case strings.IndexFunc(v, func(r rune) bool {
		return unicode.IsControl(r) && !(len(multiline) > 0 && multiline[0] && (r == '\n' || r == '\t' || r == '\r'))
	}) >= 0:
		c.Add(field, "must not contain control characters")
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

// Email lowercases and trims an address; ok is false when it is not a
// plain address.
func Email(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		return s, false
	}
	return s, true
}

// Phone reports whether s is an E.164 number (+ and up to 15 digits).
func Phone(s string) bool {
	return len(s) > 1 && s[0] == '+' && s[1] != '0' && Bytes(s[1:], 7, 15, Digit)
}

// Bytes reports whether s has min to max bytes, each one ok. The format
// checks use it rather than package-level regular expressions, which every
// function linking them would compile at each cold start.
func Bytes(s string, min, max int, ok func(byte) bool) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// Digit, Upper, Lower, Alnum and Word are Bytes's classes: 0-9; A-Z; a-z;
// ASCII letters and digits; those, '_' and '-'.
func Digit(c byte) bool { return '0' <= c && c <= '9' }
func Upper(c byte) bool { return 'A' <= c && c <= 'Z' }
func Lower(c byte) bool { return 'a' <= c && c <= 'z' }
func Alnum(c byte) bool { return Digit(c) || Upper(c) || Lower(c) }
func Word(c byte) bool  { return Alnum(c) || c == '_' || c == '-' }

// ClockTime reports whether s is a 24-hour time of day, HH:MM.
func ClockTime(s string) bool {
	return len(s) == 5 && s[2] == ':' && Bytes(s[:2], 2, 2, Digit) && Bytes(s[3:], 2, 2, Digit) &&
		s[:2] <= "23" && s[3] <= '5'
}

// PhoneMessage is the message for a number that is not E.164.
const PhoneMessage = "must be in E.164 format, e.g. +14155550123"

// Timezone reports whether s is an IANA time zone name.
func Timezone(s string) bool {
	if s == "" || s == "Local" {
		return false
	}
	_, err := time.LoadLocation(s)
	return err == nil
}

// DateLayout is the API's date format.
const DateLayout = "2006-01-02"

// Date reports whether s is a YYYY-MM-DD calendar date.
func Date(s string) bool {
	_, err := time.Parse(DateLayout, s)
	return err == nil
}

// The years a date money moves on may fall in: no firm's books go back
// before 1900, and a date more than a year ahead is a typo (year 0000
// passed as a date once, and sorted before every real one).
const (
	MinMoneyYear    = 1900
	moneyYearsAhead = 1
)

// MoneyDate checks a date money is booked, cleared, reconciled or due on:
// a YYYY-MM-DD calendar date from 1900-01-01 to the end of next year, as of
// now (the caller's clock). It reports whether v passed; if not, c has the
// field's message.
func MoneyDate(c *fault.Checker, field, v string, now time.Time) bool {
	d, err := time.Parse(DateLayout, v)
	if err != nil {
		c.Add(field, "must be a date, YYYY-MM-DD")
		return false
	}
	last := now.Year() + moneyYearsAhead
	if d.Year() < MinMoneyYear || d.Year() > last {
		c.Add(field, "must be a date from "+itoa(MinMoneyYear)+"-01-01 to "+itoa(last)+"-12-31")
		return false
	}
	return true
}

// HTTPSURL reports whether s is an absolute https URL of at most 2048
// bytes with a host (a video-call link, say).
func HTTPSURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && len(s) <= 2048 && u.Scheme == "https" && u.Host != "" && u.User == nil
}
