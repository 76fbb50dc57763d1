package identity

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// TestValidatorsMatchTheirExpressions: validUsername and
// validMessagingServiceSID accept exactly what the regular expressions
// they replace accept.
func TestValidatorsMatchTheirExpressions(t *testing.T) {
	username := regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,31}$`)
	sid := regexp.MustCompile(`^MG[0-9a-f]{32}$`)
	inputs := []string{"", "ab", "abc", "a.b", ".ab", "_ab", "-ab", "Abc", "abc\n", "ab c", "é12",
		strings.Repeat("a", 32), strings.Repeat("a", 33), "MG" + strings.Repeat("0f", 16), "MG" + strings.Repeat("0F", 16),
		"mg" + strings.Repeat("0f", 16), "MG" + strings.Repeat("a", 31), "MG" + strings.Repeat("a", 33), "MG" + strings.Repeat("a", 31) + "\n"}
	const alphabet = "abczAZ09._-MGf \n\xc3\xa9"
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, r.IntN(36))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		if r.IntN(4) == 0 && len(b) >= 2 {
			b[0], b[1] = 'M', 'G'
		}
		inputs = append(inputs, string(b))
	}
	for _, s := range inputs {
		if got, want := validUsername(s), username.MatchString(s); got != want {
			t.Errorf("validUsername(%q) = %v, want %v", s, got, want)
		}
		if got, want := validMessagingServiceSID(s), sid.MatchString(s); got != want {
			t.Errorf("validMessagingServiceSID(%q) = %v, want %v", s, got, want)
		}
	}
}
