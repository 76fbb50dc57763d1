package identity

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// TOTP as RFC 6238 specifies it and authenticator apps default to: HMAC-SHA-1,
// 6 digits, 30-second steps. A code of the step before or after the current
// one is accepted too, for clock drift.
const (
	totpPeriod = 30 // seconds
	totpDigits = 6
	totpDrift  = 1 // steps either side
	totpIssuer = "Matterly"
	// totpSecretLen is 160 bits, the HMAC-SHA-1 key size RFC 4226 recommends.
	totpSecretLen = 20
)

// b32 is the secret's text form: RFC 4648 base32 without padding, as
// otpauth:// URLs and authenticator apps take it.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// totpStep is the time step t falls in.
func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// hotp is RFC 4226's HOTP value of counter under key, as digits decimal digits.
func hotp(key []byte, counter int64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(counter))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f // dynamic truncation
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// totpMatch returns the step, within totpDrift of now's, whose code is
// code, and whether there is one. Every candidate is compared in constant
// time, and all of them always are, so timing tells nothing of which matched.
func totpMatch(key []byte, code string, now time.Time) (int64, bool) {
	if len(code) != totpDigits {
		return 0, false
	}
	cur := totpStep(now)
	var found int64
	ok := 0
	for d := int64(-totpDrift); d <= totpDrift; d++ {
		if subtle.ConstantTimeCompare([]byte(hotp(key, cur+d, totpDigits)), []byte(code)) == 1 {
			found, ok = cur+d, 1
		}
	}
	return found, ok == 1
}

// otpauthURL is the Key URI an authenticator app scans (the "Key Uri
// Format" of Google Authenticator, which every app follows): issuer
// Matterly, the member's email as the account.
func otpauthURL(secret, account string) string {
	q := url.Values{}
	q.Set("secret", secret)
	q.Set("issuer", totpIssuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", fmt.Sprint(totpDigits))
	q.Set("period", fmt.Sprint(totpPeriod))
	label := url.PathEscape(totpIssuer + ":" + account)
	return "otpauth://totp/" + label + "?" + q.Encode()
}

// normalizeCode strips the spaces and dashes people type into codes.
func normalizeCode(code string) string {
	return strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(code))
}
