// Package strength is the password policy: 12 to 128 characters, and not
// guessable by zxcvbn's estimate, counting the person's own name, email and
// org as guessable words. zxcvbn-go builds its dictionaries in package init
// (about 30 ms), so only the functions that set passwords import this.
package strength

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ccojocar/zxcvbn-go"

	"github.com/matterly/matterly/shared/password"
)

// MinScore is the lowest zxcvbn score (0-4) accepted: 3 means "safely
// unguessable: moderate protection from offline slow-hash scenario".
const MinScore = 3

// Problem explains why a password is refused; "" means it is acceptable.
// userInputs (name, email, username, org name) count as guessable words.
func Problem(pw string, userInputs ...string) string {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < password.MinLength:
		return fmt.Sprintf("must be at least %d characters", password.MinLength)
	case n > password.MaxLength:
		return fmt.Sprintf("must be at most %d characters", password.MaxLength)
	}
	var inputs []string
	for _, in := range userInputs {
		if in = strings.ToLower(strings.TrimSpace(in)); in != "" {
			inputs = append(inputs, in)
			// Parts of an email or a name are guessable too.
			inputs = append(inputs, strings.FieldsFunc(in, func(r rune) bool { return strings.ContainsRune(" @._-+", r) })...)
		}
	}
	if zxcvbn.PasswordStrength(pw, inputs).Score < MinScore {
		return "is too easy to guess; use a longer passphrase of unrelated words"
	}
	return ""
}
