package identity

import (
	"strings"

	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
)

// validUsername is ^[a-z0-9][a-z0-9._-]{2,31}$ without a regular
// expression: compiling the bounded repetition cost every function linking
// identity 40 KB and 500 allocations at init.
func validUsername(s string) bool {
	lowerDigit := func(c byte) bool { return check.Lower(c) || check.Digit(c) }
	return len(s) > 0 && lowerDigit(s[0]) &&
		check.Bytes(s[1:], 2, 31, func(c byte) bool { return lowerDigit(c) || c == '.' || c == '_' || c == '-' })
}

// validMessagingServiceSID is ^MG[0-9a-f]{32}$: a Twilio Messaging
// Service's SID.
func validMessagingServiceSID(s string) bool {
	return len(s) == 34 && s[:2] == "MG" &&
		check.Bytes(s[2:], 32, 32, func(c byte) bool { return check.Digit(c) || 'a' <= c && c <= 'f' })
}

// normalizeEmail lowercases and trims an email; ok is false when it is not a
// plain address.
func normalizeEmail(s string) (string, bool) { return check.Email(s) }

// normalizeUsername lowercases a username: usernames compare case-insensitively.
func normalizeUsername(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	return s, validUsername(s)
}

func validPhone(s string) bool { return check.Phone(s) }

func validTimezone(s string) bool { return check.Timezone(s) }

// text checks a free-text field's length in characters.
func text(c *fault.Checker, field, v string, required bool, maxLen int) {
	check.Text(c, field, v, required, maxLen)
}

// validID reports whether id can be one of our ids (see check.ID).
func validID(id string) bool { return check.ID(id) }
