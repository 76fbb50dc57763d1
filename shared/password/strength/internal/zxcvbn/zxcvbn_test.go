package zxcvbn_test

import (
	"testing"

	upstream "github.com/ccojocar/zxcvbn-go"

	"github.com/matterly/matterly/shared/password/strength/internal/zxcvbn"
)

// TestSameAsUpstream checks the lazy copy scores passwords exactly as the
// library it was copied from, with and without user inputs.
func TestSameAsUpstream(t *testing.T) {
	pws := []string{"correct horse battery staple", "Tr0ub4dor&3xyzzyplugh", "password1234", "123456789012",
		"qwertyuiopasdf", "adalovelace1815", "zq8!Lm#2vR&9", "1q2w3e4r5t6y", "p@ssw0rdP@SSW0RD", "19/04/1987mary",
		"abcdefghijkl", "zxcvbnmasdfg", "Jennifer2024!", "7896541230789", "éléphant rose bleu"}
	inputs := []string{"ada", "lovelace", "ada@example.com", "acme"}
	for _, pw := range pws {
		for _, in := range [][]string{nil, inputs} {
			got, want := zxcvbn.PasswordStrength(pw, in), upstream.PasswordStrength(pw, in)
			if got.Score != want.Score || got.Entropy != want.Entropy || got.CrackTime != want.CrackTime {
				t.Errorf("%q (inputs %v): score %d, entropy %v, crack time %v; upstream %d, %v, %v",
					pw, in, got.Score, got.Entropy, got.CrackTime, want.Score, want.Entropy, want.CrackTime)
			}
		}
	}
}
