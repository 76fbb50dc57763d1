// Package retryafter reads the Retry-After hint providers send with 429
// and 503 answers, so every provider client backs off the same way.
package retryafter

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Max bounds a hint: a huge one would overflow or stall a worker for good.
const Max = 24 * time.Hour

// Parse reads a Retry-After value (RFC 9110 10.2.3: delay-seconds or an
// HTTP date) as a wait from now; 0 when absent, unreadable or past.
func Parse(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, Max.Seconds()) * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now).Round(time.Second), 0), Max)
	}
	return 0
}
