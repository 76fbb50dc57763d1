package identity

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // org time zones must validate the same on Lambda and laptops
	"unicode/utf8"

	"github.com/oklog/ulid/v2"

	"github.com/matterly/matterly/shared/fault"
)

var (
	e164Re     = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	usernameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,31}$`)
	mgSIDRe    = regexp.MustCompile(`^MG[0-9a-f]{32}$`)
)

// normalizeEmail lowercases and trims an email; ok is false when it is not a
// plain address.
func normalizeEmail(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		return s, false
	}
	return s, true
}

// normalizeUsername lowercases a username: usernames compare case-insensitively.
func normalizeUsername(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	return s, usernameRe.MatchString(s)
}

func validPhone(s string) bool { return e164Re.MatchString(s) }

func validTimezone(s string) bool {
	if s == "" || s == "Local" {
		return false
	}
	_, err := time.LoadLocation(s)
	return err == nil
}

// text checks a free-text field's length in characters.
func text(c *fault.Checker, field, v string, required bool, maxLen int) {
	n := utf8.RuneCountInString(strings.TrimSpace(v))
	switch {
	case required && n == 0:
		c.Add(field, "is required")
	case n > maxLen:
		c.Add(field, "is too long")
	}
}

// validID reports whether id can be one of our ids (a ULID). Anything else
// is answered as not found before it reaches the table, whose key size
// limits would turn an over-long id into a server error.
func validID(id string) bool {
	_, err := ulid.ParseStrict(id)
	return err == nil
}
