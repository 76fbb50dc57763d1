// Package zxcvbn is github.com/ccojocar/zxcvbn-go v1.0.4 (MIT, LICENSE.txt)
// with one change: its dictionaries and keyboard graphs are built on first
// use instead of in package init, so a function linking the password policy
// starts without the ~60 ms that cost. The word lists stay in the upstream
// module's data package.
package zxcvbn

import (
	"time"

	"github.com/matterly/matterly/shared/password/strength/internal/zxcvbn/match"
	"github.com/matterly/matterly/shared/password/strength/internal/zxcvbn/matching"
	"github.com/matterly/matterly/shared/password/strength/internal/zxcvbn/scoring"
	zxcvbnmath "github.com/matterly/matterly/shared/password/strength/internal/zxcvbn/utils/math"
)

// PasswordStrength takes a password, userInputs and optional filters and returns a MinEntropyMatch
func PasswordStrength(password string, userInputs []string, filters ...func(match.Matcher) bool) scoring.MinEntropyMatch {
	start := time.Now()
	matches := matching.Omnimatch(password, userInputs, filters...)
	result := scoring.MinimumEntropyMatchSequence(password, matches)
	end := time.Now()

	calcTime := end.Nanosecond() - start.Nanosecond()
	result.CalcTime = zxcvbnmath.Round(float64(calcTime)*time.Nanosecond.Seconds(), .5, 3)
	return result
}
