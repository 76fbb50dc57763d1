// Package strength is the password policy: 12 to 128 characters, and not
// guessable by zxcvbn's estimate, counting the person's own name, email and
// org as guessable words. zxcvbn-go builds its dictionaries in package init
// (about 60 ms of the accounts function's cold start), so this uses a copy
// of it (internal/zxcvbn, the same scores) that builds them on the first
// password judged instead; only the functions that set passwords import it.
package strength

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/matterly/matterly/shared/password/strength/internal/zxcvbn"

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
	// zxcvbn scores repeated multi-character units ("abababababab") and
	// repeated non-ASCII letters too high, so those are refused here.
	if distinctRunes(pw) < 5 || repeatsUnit(pw) || zxcvbn.PasswordStrength(pw, inputs).Score < MinScore {
		return "is too easy to guess; use a longer passphrase of unrelated words"
	}
	return ""
}

func distinctRunes(s string) int {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}

// repeatsUnit reports whether s is one shorter string repeated.
func repeatsUnit(s string) bool {
	rs := []rune(s)
	for k := 1; k <= len(rs)/2; k++ {
		if len(rs)%k == 0 && strings.Repeat(string(rs[:k]), len(rs)/k) == s {
			return true
		}
	}
	return false
}
