package identity

import (
	"regexp"
	"strings"

	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
)

var (
	usernameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,31}$`)
	mgSIDRe    = regexp.MustCompile(`^MG[0-9a-f]{32}$`)
)

// normalizeEmail lowercases and trims an email; ok is false when it is not a
// plain address.
func normalizeEmail(s string) (string, bool) { return check.Email(s) }

// normalizeUsername lowercases a username: usernames compare case-insensitively.
func normalizeUsername(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	return s, usernameRe.MatchString(s)
}

func validPhone(s string) bool { return check.Phone(s) }

func validTimezone(s string) bool { return check.Timezone(s) }

// text checks a free-text field's length in characters.
func text(c *fault.Checker, field, v string, required bool, maxLen int) {
	check.Text(c, field, v, required, maxLen)
}

// validID reports whether id can be one of our ids (see check.ID).
func validID(id string) bool { return check.ID(id) }
